CREATE OR REPLACE FUNCTION mailboxes_quota_rollup_insert() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used + s.used
    FROM (SELECT domain_id, SUM(quota_used) AS used FROM new_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id AND s.used <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION mailboxes_quota_rollup_delete() RETURNS trigger AS $$
BEGIN
    UPDATE domains d SET quota_used = d.quota_used - s.used
    FROM (SELECT domain_id, SUM(quota_used) AS used FROM old_rows GROUP BY domain_id) s
    WHERE d.id = s.domain_id AND s.used <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
