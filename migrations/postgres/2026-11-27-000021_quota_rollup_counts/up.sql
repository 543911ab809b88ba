-- The statement-level rollup (000007, for fast bulk imports) and the live
-- quota aggregates (000020) were written side by side: the insert and
-- delete rollups must also keep mailbox_count, mailbox_quota and
-- change_seq current, once per affected domain per statement.
CREATE OR REPLACE FUNCTION mailboxes_quota_rollup_insert() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used + s.used,
        mailbox_count = d.mailbox_count + s.n,
        mailbox_quota = d.mailbox_quota + s.allotted,
        change_seq = d.change_seq + 1
    FROM (SELECT domain_id, SUM(quota_used) AS used, COUNT(*) AS n, SUM(quota_limit) AS allotted
          FROM new_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION mailboxes_quota_rollup_delete() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used - s.used,
        mailbox_count = d.mailbox_count - s.n,
        mailbox_quota = d.mailbox_quota - s.allotted,
        change_seq = d.change_seq + 1
    FROM (SELECT domain_id, SUM(quota_used) AS used, COUNT(*) AS n, SUM(quota_limit) AS allotted
          FROM old_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Bring the aggregates of existing rows in line once.
UPDATE domains SET
    mailbox_count = (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id),
    mailbox_quota = (SELECT COALESCE(SUM(m.quota_limit), 0) FROM mailboxes m WHERE m.domain_id = domains.id);
