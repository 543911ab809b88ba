-- Issue 23 item 4, 100,000 domains and 10,000,000 mailboxes.
--
-- 1. The change check (every 2 s per open dashboard or table screen)
-- summed change_seq over every domain row: 0.7 ms at 10,000 domains,
-- ~15 ms at 100,000. Every statement that writes domains now also counts
-- into one of 64 stripe rows, and an unscoped check sums those 64. A
-- connection writes the stripe of its backend pid, so a transaction locks
-- one stripe row however many domains it touches: a long import blocks
-- only the connections that share its stripe, not every domain's quota
-- updates. Statement-level, so a COPY batch touching a hundred domains
-- bumps its stripe once and a bulk load leaves no pile of dead versions.
CREATE TABLE quota_watch_stripes (
    stripe INTEGER PRIMARY KEY,
    changes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO quota_watch_stripes (stripe, changes) SELECT s, 0 FROM generate_series(0, 63) s;
CREATE FUNCTION domains_watch_stripe() RETURNS trigger AS $$
BEGIN
    UPDATE quota_watch_stripes SET changes = changes + 1 WHERE stripe = pg_backend_pid() % 64;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER domains_watch_stripe AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION domains_watch_stripe();

-- 2. The alias counters were kept per row: seeding 200,000 aliases wrote
-- 200,000 versions of 10,000 domain rows in one transaction (39 MB for
-- 10,000 rows, and every read of the aggregates then scanned all of it).
-- Once per statement per domain, like the mailbox rollup (000021).
CREATE FUNCTION aliases_count_rollup_insert() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET alias_count = d.alias_count + s.n, change_seq = d.change_seq + 1
    FROM (SELECT domain_id, COUNT(*) AS n FROM new_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION aliases_count_rollup_delete() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET alias_count = d.alias_count - s.n, change_seq = d.change_seq + 1
    FROM (SELECT domain_id, COUNT(*) AS n FROM old_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER aliases_count_insert ON aliases;
DROP TRIGGER aliases_count_delete ON aliases;
CREATE TRIGGER aliases_count_insert AFTER INSERT ON aliases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aliases_count_rollup_insert();
CREATE TRIGGER aliases_count_delete AFTER DELETE ON aliases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aliases_count_rollup_delete();

-- 3. `quota check` counts the mailboxes over a threshold. PostgreSQL
-- answers a count from an expression index alone (no heap visit) only
-- when the columns the expression reads are in the index too; without
-- them it visited 180,000 heap rows for 1,000,000 mailboxes (290 ms,
-- 34 ms index-only). quota_used is in the expression already, so
-- carrying it costs no HOT update that was possible before.
DROP INDEX idx_mailboxes_used_permille;
CREATE INDEX idx_mailboxes_used_permille ON mailboxes (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), id)
    INCLUDE (quota_used, quota_limit);
