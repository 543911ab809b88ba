-- Bulk imports and deletes: the row-level rollup updated the domain row once
-- per mailbox, and 100,000 updates of one row in one transaction leave
-- 100,000 row versions to walk (380 rows/s). Statement-level triggers with
-- transition tables update each affected domain once per statement.
DROP TRIGGER mailboxes_quota_insert ON mailboxes;
DROP TRIGGER mailboxes_quota_delete ON mailboxes;

CREATE FUNCTION mailboxes_quota_rollup_insert() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used + s.used
    FROM (SELECT domain_id, SUM(quota_used) AS used FROM new_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id AND s.used <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION mailboxes_quota_rollup_delete() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used - s.used
    FROM (SELECT domain_id, SUM(quota_used) AS used FROM old_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id AND s.used <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailboxes_quota_rollup_insert();
CREATE TRIGGER mailboxes_quota_delete AFTER DELETE ON mailboxes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailboxes_quota_rollup_delete();
