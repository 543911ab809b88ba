-- Each domain's and mailbox's newest usage sample (see the SQLite
-- migration for why). No foreign key on mailbox_quota_latest: the check
-- per inserted row tripled the cost of a first sample; a statement-level
-- delete trigger forgets deleted mailboxes' rows instead, once per
-- statement like the quota rollup.
CREATE TABLE domain_quota_latest (
    domain_id INTEGER PRIMARY KEY NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    taken_at TIMESTAMP NOT NULL,
    used BIGINT NOT NULL
);
CREATE TABLE mailbox_quota_latest (
    mailbox_id INTEGER PRIMARY KEY NOT NULL,
    taken_at TIMESTAMP NOT NULL,
    used BIGINT NOT NULL
);
CREATE FUNCTION mailboxes_quota_latest_forget() RETURNS trigger AS $$
BEGIN
    DELETE FROM mailbox_quota_latest l USING old_rows o WHERE l.mailbox_id = o.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mailboxes_quota_latest_delete AFTER DELETE ON mailboxes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailboxes_quota_latest_forget();

INSERT INTO domain_quota_latest (domain_id, taken_at, used)
    SELECT DISTINCT ON (domain_id) domain_id, taken_at, used FROM domain_quota_samples
    ORDER BY domain_id, taken_at DESC;
DELETE FROM domain_quota_samples s USING domain_quota_latest l
    WHERE s.domain_id = l.domain_id AND s.taken_at = l.taken_at;
INSERT INTO mailbox_quota_latest (mailbox_id, taken_at, used)
    SELECT DISTINCT ON (mailbox_id) mailbox_id, taken_at, used FROM mailbox_quota_samples
    ORDER BY mailbox_id, taken_at DESC;
DELETE FROM mailbox_quota_samples s USING mailbox_quota_latest l
    WHERE s.mailbox_id = l.mailbox_id AND s.taken_at = l.taken_at;
