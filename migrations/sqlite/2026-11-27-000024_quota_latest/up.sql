-- Each domain's and mailbox's newest usage sample, one row each, so
-- `quota sample` compares usage against it with a join over an id range
-- instead of probing the history's newest row per mailbox. The history
-- tables keep the superseded change points only: a change moves the old
-- newest row there and overwrites this one, so the first sample of a
-- million mailboxes writes a million rows here and none there, and an idle
-- mailbox's last value is never pruned away.
--
-- No foreign key on mailbox_quota_latest: checking one per inserted row
-- tripled the cost of a first sample on PostgreSQL. A delete trigger
-- forgets a deleted mailbox's row instead, as the cascade would.
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
CREATE TRIGGER mailboxes_quota_latest_delete AFTER DELETE ON mailboxes BEGIN
    DELETE FROM mailbox_quota_latest WHERE mailbox_id = OLD.id;
END;

-- SQLite takes a bare column of a MAX() group from the row holding the max.
INSERT INTO domain_quota_latest (domain_id, taken_at, used)
    SELECT domain_id, MAX(taken_at), used FROM domain_quota_samples GROUP BY domain_id;
DELETE FROM domain_quota_samples WHERE EXISTS (SELECT 1 FROM domain_quota_latest l
    WHERE l.domain_id = domain_quota_samples.domain_id AND l.taken_at = domain_quota_samples.taken_at);
INSERT INTO mailbox_quota_latest (mailbox_id, taken_at, used)
    SELECT mailbox_id, MAX(taken_at), used FROM mailbox_quota_samples GROUP BY mailbox_id;
DELETE FROM mailbox_quota_samples WHERE EXISTS (SELECT 1 FROM mailbox_quota_latest l
    WHERE l.mailbox_id = mailbox_quota_samples.mailbox_id AND l.taken_at = mailbox_quota_samples.taken_at);
