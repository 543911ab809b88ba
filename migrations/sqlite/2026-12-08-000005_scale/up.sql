-- Issue 23 item 4: `quota check` counts the mailboxes and domains at or
-- over its thresholds; as range counts on the permille indexes that was
-- linear in the matches (381 ms at 10M mailboxes, 2M of them over 80 %).
-- The same triggers that keep the per-domain aggregates now keep how many
-- mailboxes and domains sit in each whole percent (1..1000, 1000 meaning
-- 1000 % or more; below 1 % is not kept: no threshold is under 1 %), so a
-- count over a threshold sums at most a thousand rows. See the PostgreSQL
-- migration for the striping; SQLite has one writer, so one stripe.
CREATE TABLE quota_percent_counts (
    percent INTEGER NOT NULL,
    stripe INTEGER NOT NULL,
    n_mailboxes BIGINT NOT NULL DEFAULT 0,
    n_domains BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (percent, stripe)
) WITHOUT ROWID;

-- The percent expression is the permille index's arithmetic
-- (store::quota::PERMILLE) divided by 10, so percent >= p exactly when
-- permille >= 10 p. The INSERT ... SELECT ... WHERE form makes each
-- statement conditional inside a trigger body.
-- Bulk mode (000022): the seed and the import add the counts set-wise.
CREATE TRIGGER mailboxes_percent_insert AFTER INSERT ON mailboxes
WHEN NOT EXISTS (SELECT 1 FROM bulk_insert_mode) AND (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes) SELECT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END), 0, 1 WHERE (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = n_mailboxes + excluded.n_mailboxes;
END;
CREATE TRIGGER mailboxes_percent_delete AFTER DELETE ON mailboxes
WHEN (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes) SELECT (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END), 0, -1 WHERE (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = n_mailboxes + excluded.n_mailboxes;
END;
CREATE TRIGGER mailboxes_percent_update AFTER UPDATE OF quota_used, quota_limit ON mailboxes
WHEN (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes) SELECT (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END), 0, -1 WHERE (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = n_mailboxes + excluded.n_mailboxes;
    INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes) SELECT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END), 0, 1 WHERE (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = n_mailboxes + excluded.n_mailboxes;
END;
CREATE TRIGGER domains_percent_insert AFTER INSERT ON domains
WHEN (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_domains) SELECT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END), 0, 1 WHERE (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_domains = n_domains + excluded.n_domains;
END;
CREATE TRIGGER domains_percent_delete AFTER DELETE ON domains
WHEN (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_domains) SELECT (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END), 0, -1 WHERE (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_domains = n_domains + excluded.n_domains;
END;
CREATE TRIGGER domains_percent_update AFTER UPDATE OF quota_used, quota_limit ON domains
WHEN (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) BEGIN
    INSERT INTO quota_percent_counts (percent, stripe, n_domains) SELECT (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END), 0, -1 WHERE (CASE WHEN OLD.quota_limit > 0 AND OLD.quota_used * 1000 / OLD.quota_limit >= 10 THEN MIN(OLD.quota_used * 1000 / OLD.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_domains = n_domains + excluded.n_domains;
    INSERT INTO quota_percent_counts (percent, stripe, n_domains) SELECT (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END), 0, 1 WHERE (CASE WHEN NEW.quota_limit > 0 AND NEW.quota_used * 1000 / NEW.quota_limit >= 10 THEN MIN(NEW.quota_used * 1000 / NEW.quota_limit / 10, 1000) END) IS NOT NULL
    ON CONFLICT (percent, stripe) DO UPDATE SET n_domains = n_domains + excluded.n_domains;
END;

-- The rows already there.
INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes, n_domains)
SELECT p, 0, SUM(nm), SUM(nd) FROM (
    SELECT (CASE WHEN m.quota_limit > 0 AND m.quota_used * 1000 / m.quota_limit >= 10 THEN MIN(m.quota_used * 1000 / m.quota_limit / 10, 1000) END) AS p, 1 AS nm, 0 AS nd FROM mailboxes m
    UNION ALL
    SELECT (CASE WHEN d.quota_limit > 0 AND d.quota_used * 1000 / d.quota_limit >= 10 THEN MIN(d.quota_used * 1000 / d.quota_limit / 10, 1000) END), 0, 1 FROM domains d
) WHERE p IS NOT NULL GROUP BY p;
