DROP TRIGGER mailboxes_quota_insert;
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used,
        mailbox_count = mailbox_count + 1, mailbox_quota = mailbox_quota + NEW.quota_limit,
        change_seq = change_seq + 1
    WHERE id = NEW.domain_id;
END;

DROP TRIGGER mailboxes_fts_insert;
CREATE TRIGGER mailboxes_fts_insert AFTER INSERT ON mailboxes BEGIN
    INSERT INTO mailboxes_fts(rowid, username) VALUES (NEW.id, NEW.username);
END;

DROP TABLE bulk_insert_mode;
