-- Live quota watching (issue 6).
--
-- Per-domain aggregates, kept by the same triggers that already keep
-- domains.quota_used, so the dashboard reads ~10,000 domain rows instead of
-- 1,000,000 mailboxes. change_seq is bumped on every change the dashboard
-- shows; the UI's cheap "did anything change?" check is COUNT(*) and
-- SUM(change_seq) over domains plus quota_watch.domains_seq (below). It lives on the domain
-- row the quota trigger already writes, so it adds no second hot row that
-- every writer of every domain would queue on.
ALTER TABLE domains ADD COLUMN mailbox_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN mailbox_quota BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN alias_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;

UPDATE domains SET
    mailbox_count = (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id),
    mailbox_quota = (SELECT COALESCE(SUM(m.quota_limit), 0) FROM mailboxes m WHERE m.domain_id = domains.id),
    alias_count = (SELECT COUNT(*) FROM aliases a WHERE a.domain_id = domains.id);

DROP TRIGGER mailboxes_quota_insert;
DROP TRIGGER mailboxes_quota_delete;
DROP TRIGGER mailboxes_quota_update;

CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used,
        mailbox_count = mailbox_count + 1, mailbox_quota = mailbox_quota + NEW.quota_limit,
        change_seq = change_seq + 1
    WHERE id = NEW.domain_id;
END;
CREATE TRIGGER mailboxes_quota_delete AFTER DELETE ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used,
        mailbox_count = mailbox_count - 1, mailbox_quota = mailbox_quota - OLD.quota_limit,
        change_seq = change_seq + 1
    WHERE id = OLD.domain_id;
END;
-- username is in the list because the top-N view shows it.
CREATE TRIGGER mailboxes_quota_update AFTER UPDATE OF quota_used, quota_limit, domain_id, username ON mailboxes
WHEN OLD.quota_used <> NEW.quota_used OR OLD.quota_limit <> NEW.quota_limit
    OR OLD.domain_id <> NEW.domain_id OR OLD.username <> NEW.username BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used,
        mailbox_count = mailbox_count - 1, mailbox_quota = mailbox_quota - OLD.quota_limit,
        change_seq = change_seq + 1
    WHERE id = OLD.domain_id;
    UPDATE domains SET quota_used = quota_used + NEW.quota_used,
        mailbox_count = mailbox_count + 1, mailbox_quota = mailbox_quota + NEW.quota_limit,
        change_seq = change_seq + 1
    WHERE id = NEW.domain_id;
END;

CREATE TRIGGER aliases_count_insert AFTER INSERT ON aliases BEGIN
    UPDATE domains SET alias_count = alias_count + 1, change_seq = change_seq + 1 WHERE id = NEW.domain_id;
END;
CREATE TRIGGER aliases_count_delete AFTER DELETE ON aliases BEGIN
    UPDATE domains SET alias_count = alias_count - 1, change_seq = change_seq + 1 WHERE id = OLD.domain_id;
END;
CREATE TRIGGER aliases_count_move AFTER UPDATE OF domain_id ON aliases
WHEN OLD.domain_id <> NEW.domain_id BEGIN
    UPDATE domains SET alias_count = alias_count - 1, change_seq = change_seq + 1 WHERE id = OLD.domain_id;
    UPDATE domains SET alias_count = alias_count + 1, change_seq = change_seq + 1 WHERE id = NEW.domain_id;
END;
-- What the dashboard shows of a domain itself. The inner UPDATE touches only
-- change_seq, so it cannot fire this trigger again.
CREATE TRIGGER domains_watch_update AFTER UPDATE OF name, status, quota_limit ON domains
WHEN OLD.name <> NEW.name OR OLD.status <> NEW.status OR OLD.quota_limit <> NEW.quota_limit BEGIN
    UPDATE domains SET change_seq = change_seq + 1 WHERE id = NEW.id;
END;

-- Domains created or deleted: rare, so one shared counter row is no
-- bottleneck, and it catches a create + delete between two checks that
-- leaves every per-domain number as it was.
CREATE TABLE quota_watch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    domains_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO quota_watch (id, domains_seq) VALUES (1, 0);
CREATE TRIGGER domains_watch_insert AFTER INSERT ON domains BEGIN
    UPDATE quota_watch SET domains_seq = domains_seq + 1 WHERE id = 1;
END;
CREATE TRIGGER domains_watch_delete AFTER DELETE ON domains BEGIN
    UPDATE quota_watch SET domains_seq = domains_seq + 1 WHERE id = 1;
END;

-- Percent used, in permille (integer, so both backends sort alike); -1 for
-- "no limit" so those sort last. The queries repeat this exact expression,
-- which is what lets both backends use the index for ORDER BY ... LIMIT and
-- keyset pages (id breaks ties).
CREATE INDEX idx_mailboxes_used_permille ON mailboxes (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), id);
CREATE INDEX idx_domains_used_permille ON domains (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), id);

-- Usage history. The host gets a row per sample; a domain or a mailbox only
-- when its usage differs from its previous sample, so a million idle
-- mailboxes cost nothing per sample (the sparkline holds the last value).
CREATE TABLE quota_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at TIMESTAMP NOT NULL,
    used BIGINT NOT NULL,
    allotted BIGINT NOT NULL,
    mailboxes BIGINT NOT NULL
);
CREATE INDEX idx_quota_samples_taken_at ON quota_samples(taken_at);
CREATE TABLE domain_quota_samples (
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    taken_at TIMESTAMP NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (domain_id, taken_at)
);
CREATE INDEX idx_domain_quota_samples_taken_at ON domain_quota_samples(taken_at);
CREATE TABLE mailbox_quota_samples (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    taken_at TIMESTAMP NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, taken_at)
);
CREATE INDEX idx_mailbox_quota_samples_taken_at ON mailbox_quota_samples(taken_at);
