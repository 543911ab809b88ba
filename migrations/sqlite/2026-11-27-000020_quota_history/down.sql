DROP TRIGGER domains_watch_delete;
DROP TRIGGER domains_watch_insert;
DROP TABLE quota_watch;
DROP TABLE mailbox_quota_samples;
DROP TABLE domain_quota_samples;
DROP TABLE quota_samples;
DROP INDEX idx_domains_used_permille;
DROP INDEX idx_mailboxes_used_permille;
DROP TRIGGER domains_watch_update;
DROP TRIGGER aliases_count_move;
DROP TRIGGER aliases_count_delete;
DROP TRIGGER aliases_count_insert;
DROP TRIGGER mailboxes_quota_update;
DROP TRIGGER mailboxes_quota_delete;
DROP TRIGGER mailboxes_quota_insert;
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;
CREATE TRIGGER mailboxes_quota_delete AFTER DELETE ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used WHERE id = OLD.domain_id;
END;
CREATE TRIGGER mailboxes_quota_update AFTER UPDATE OF quota_used, domain_id ON mailboxes
WHEN OLD.quota_used <> NEW.quota_used OR OLD.domain_id <> NEW.domain_id BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used WHERE id = OLD.domain_id;
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;
ALTER TABLE domains DROP COLUMN change_seq;
ALTER TABLE domains DROP COLUMN alias_count;
ALTER TABLE domains DROP COLUMN mailbox_quota;
ALTER TABLE domains DROP COLUMN mailbox_count;
