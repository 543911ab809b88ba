DROP INDEX idx_mailboxes_used_permille;
CREATE INDEX idx_mailboxes_used_permille ON mailboxes (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), id);
DROP TRIGGER aliases_count_insert ON aliases;
DROP TRIGGER aliases_count_delete ON aliases;
CREATE TRIGGER aliases_count_insert AFTER INSERT ON aliases
    FOR EACH ROW EXECUTE FUNCTION aliases_count_rollup();
CREATE TRIGGER aliases_count_delete AFTER DELETE ON aliases
    FOR EACH ROW EXECUTE FUNCTION aliases_count_rollup();
DROP FUNCTION aliases_count_rollup_delete();
DROP FUNCTION aliases_count_rollup_insert();
DROP TRIGGER domains_watch_stripe ON domains;
DROP FUNCTION domains_watch_stripe();
DROP TABLE quota_watch_stripes;
