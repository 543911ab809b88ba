-- Issue 23 item 4: `quota check` counts the mailboxes and domains at or
-- over its thresholds. As range counts on the permille index that was
-- linear in the matches: 626 ms at 10M mailboxes (2M over 80 %), and
-- PostgreSQL scanned every domain row (no permille index there). The
-- same triggers that keep the per-domain aggregates now keep how many
-- mailboxes and domains sit in each whole percent (1..1000, 1000 meaning
-- 1000 % or more; below 1 % is not kept: no threshold is under 1 %), so a
-- count over a threshold sums at most a few thousand small rows.
--
-- Striped like quota_watch_stripes (000010): a connection writes the rows
-- of its backend pid modulo 64, so a long import holds its own stripe's
-- rows, not the rows every quota save needs.
CREATE TABLE quota_percent_counts (
    percent INTEGER NOT NULL,
    stripe INTEGER NOT NULL,
    n_mailboxes BIGINT NOT NULL DEFAULT 0,
    n_domains BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (percent, stripe)
);

-- The whole percent of used/limit, capped at 1000; NULL below 1 % or
-- without a limit. The same integer arithmetic as the permille index
-- (store::quota::PERMILLE), so percent >= p exactly when permille >= 10 p.
CREATE FUNCTION quota_percent(used BIGINT, lim BIGINT) RETURNS INTEGER AS $$
    SELECT CASE WHEN lim > 0 AND used * 1000 / lim >= 10
        THEN LEAST(used * 1000 / lim / 10, 1000)::INTEGER END
$$ LANGUAGE sql IMMUTABLE;

-- One row moving between percents (a quota update, a domain's rollup) or
-- coming and going (a domain; single mailbox rows go through the
-- statement triggers below).
CREATE FUNCTION quota_percent_move() RETURNS trigger AS $$
DECLARE
    o INTEGER;
    n INTEGER;
    s INTEGER := pg_backend_pid() % 64;
    m BIGINT := CASE WHEN TG_TABLE_NAME = 'mailboxes' THEN 1 ELSE 0 END;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        o := quota_percent(OLD.quota_used, OLD.quota_limit);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        n := quota_percent(NEW.quota_used, NEW.quota_limit);
    END IF;
    IF o IS NOT NULL THEN
        INSERT INTO quota_percent_counts AS q (percent, stripe, n_mailboxes, n_domains)
        VALUES (o, s, -m, m - 1)
        ON CONFLICT (percent, stripe) DO UPDATE
        SET n_mailboxes = q.n_mailboxes + EXCLUDED.n_mailboxes, n_domains = q.n_domains + EXCLUDED.n_domains;
    END IF;
    IF n IS NOT NULL THEN
        INSERT INTO quota_percent_counts AS q (percent, stripe, n_mailboxes, n_domains)
        VALUES (n, s, m, 1 - m)
        ON CONFLICT (percent, stripe) DO UPDATE
        SET n_mailboxes = q.n_mailboxes + EXCLUDED.n_mailboxes, n_domains = q.n_domains + EXCLUDED.n_domains;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Mailbox inserts and deletes, once per statement like the rollup (000007):
-- a COPY batch of 10,000 rows is one grouped upsert.
CREATE FUNCTION mailboxes_percent_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO quota_percent_counts AS q (percent, stripe, n_mailboxes)
    SELECT p, pg_backend_pid() % 64, COUNT(*)
    FROM (SELECT quota_percent(quota_used, quota_limit) AS p FROM new_rows) r
    WHERE p IS NOT NULL GROUP BY p ORDER BY p
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = q.n_mailboxes + EXCLUDED.n_mailboxes;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION mailboxes_percent_delete() RETURNS trigger AS $$
BEGIN
    INSERT INTO quota_percent_counts AS q (percent, stripe, n_mailboxes)
    SELECT p, pg_backend_pid() % 64, -COUNT(*)
    FROM (SELECT quota_percent(quota_used, quota_limit) AS p FROM old_rows) r
    WHERE p IS NOT NULL GROUP BY p ORDER BY p
    ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = q.n_mailboxes + EXCLUDED.n_mailboxes;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mailboxes_percent_insert AFTER INSERT ON mailboxes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailboxes_percent_insert();
CREATE TRIGGER mailboxes_percent_delete AFTER DELETE ON mailboxes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailboxes_percent_delete();
-- Updates per row, and only those that change the percent: a quota sync
-- rewriting a million rows calls the function for the few that cross a
-- whole percent, and a status or password change never.
CREATE TRIGGER mailboxes_percent_update AFTER UPDATE OF quota_used, quota_limit ON mailboxes
    FOR EACH ROW WHEN (quota_percent(OLD.quota_used, OLD.quota_limit)
        IS DISTINCT FROM quota_percent(NEW.quota_used, NEW.quota_limit))
    EXECUTE FUNCTION quota_percent_move();

CREATE TRIGGER domains_percent_insert AFTER INSERT ON domains
    FOR EACH ROW WHEN (quota_percent(NEW.quota_used, NEW.quota_limit) IS NOT NULL)
    EXECUTE FUNCTION quota_percent_move();
CREATE TRIGGER domains_percent_delete AFTER DELETE ON domains
    FOR EACH ROW WHEN (quota_percent(OLD.quota_used, OLD.quota_limit) IS NOT NULL)
    EXECUTE FUNCTION quota_percent_move();
CREATE TRIGGER domains_percent_update AFTER UPDATE OF quota_used, quota_limit ON domains
    FOR EACH ROW WHEN (quota_percent(OLD.quota_used, OLD.quota_limit)
        IS DISTINCT FROM quota_percent(NEW.quota_used, NEW.quota_limit))
    EXECUTE FUNCTION quota_percent_move();

-- The rows already there, all in stripe 0.
INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes, n_domains)
SELECT p, 0, SUM(nm), SUM(nd) FROM (
    SELECT quota_percent(quota_used, quota_limit) AS p, 1 AS nm, 0 AS nd FROM mailboxes
    UNION ALL
    SELECT quota_percent(quota_used, quota_limit), 0, 1 FROM domains
) r WHERE p IS NOT NULL GROUP BY p;
