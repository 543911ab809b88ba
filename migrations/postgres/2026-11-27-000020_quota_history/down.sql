DROP TRIGGER domains_watch_delete ON domains;
DROP TRIGGER domains_watch_insert ON domains;
DROP FUNCTION domains_watch_count();
DROP TABLE quota_watch;
DROP TABLE mailbox_quota_samples;
DROP TABLE domain_quota_samples;
DROP TABLE quota_samples;
DROP INDEX idx_mailboxes_used_permille;
DROP TRIGGER domains_watch_update ON domains;
DROP FUNCTION domains_watch_bump();
DROP TRIGGER aliases_count_move ON aliases;
DROP TRIGGER aliases_count_delete ON aliases;
DROP TRIGGER aliases_count_insert ON aliases;
DROP FUNCTION aliases_count_rollup();
DROP TRIGGER mailboxes_quota_update ON mailboxes;
CREATE OR REPLACE FUNCTION mailboxes_quota_rollup() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE domains SET quota_used = quota_used - OLD.quota_used WHERE id = OLD.domain_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mailboxes_quota_update AFTER UPDATE OF quota_used, domain_id ON mailboxes
    FOR EACH ROW WHEN (OLD.quota_used IS DISTINCT FROM NEW.quota_used OR OLD.domain_id IS DISTINCT FROM NEW.domain_id)
    EXECUTE FUNCTION mailboxes_quota_rollup();
ALTER TABLE domains DROP COLUMN change_seq;
ALTER TABLE domains DROP COLUMN alias_count;
ALTER TABLE domains DROP COLUMN mailbox_quota;
ALTER TABLE domains DROP COLUMN mailbox_count;
