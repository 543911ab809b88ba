DROP TRIGGER mailboxes_quota_insert ON mailboxes;
DROP TRIGGER mailboxes_quota_delete ON mailboxes;
DROP FUNCTION mailboxes_quota_rollup_insert();
DROP FUNCTION mailboxes_quota_rollup_delete();
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION mailboxes_quota_rollup();
CREATE TRIGGER mailboxes_quota_delete AFTER DELETE ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION mailboxes_quota_rollup();
