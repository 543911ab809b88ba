DROP TRIGGER mailboxes_quota_insert;
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;
