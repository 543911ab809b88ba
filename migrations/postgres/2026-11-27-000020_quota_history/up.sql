-- Live quota watching (issue 6). See the SQLite migration for the reasons;
-- the shape is the same.
ALTER TABLE domains ADD COLUMN mailbox_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN mailbox_quota BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN alias_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;

UPDATE domains SET
    mailbox_count = (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id),
    mailbox_quota = (SELECT COALESCE(SUM(m.quota_limit), 0) FROM mailboxes m WHERE m.domain_id = domains.id),
    alias_count = (SELECT COUNT(*) FROM aliases a WHERE a.domain_id = domains.id);

-- change_seq lives on the domain row the quota trigger already locks, so
-- watching adds no second hot row that every writer would queue on.
CREATE OR REPLACE FUNCTION mailboxes_quota_rollup() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE domains SET quota_used = quota_used - OLD.quota_used,
            mailbox_count = mailbox_count - 1, mailbox_quota = mailbox_quota - OLD.quota_limit,
            change_seq = change_seq + 1
        WHERE id = OLD.domain_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE domains SET quota_used = quota_used + NEW.quota_used,
            mailbox_count = mailbox_count + 1, mailbox_quota = mailbox_quota + NEW.quota_limit,
            change_seq = change_seq + 1
        WHERE id = NEW.domain_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER mailboxes_quota_update ON mailboxes;
CREATE TRIGGER mailboxes_quota_update AFTER UPDATE OF quota_used, quota_limit, domain_id, username ON mailboxes
    FOR EACH ROW WHEN (OLD.quota_used IS DISTINCT FROM NEW.quota_used
        OR OLD.quota_limit IS DISTINCT FROM NEW.quota_limit
        OR OLD.domain_id IS DISTINCT FROM NEW.domain_id
        OR OLD.username IS DISTINCT FROM NEW.username)
    EXECUTE FUNCTION mailboxes_quota_rollup();

CREATE FUNCTION aliases_count_rollup() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE domains SET alias_count = alias_count - 1, change_seq = change_seq + 1 WHERE id = OLD.domain_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE domains SET alias_count = alias_count + 1, change_seq = change_seq + 1 WHERE id = NEW.domain_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER aliases_count_insert AFTER INSERT ON aliases
    FOR EACH ROW EXECUTE FUNCTION aliases_count_rollup();
CREATE TRIGGER aliases_count_delete AFTER DELETE ON aliases
    FOR EACH ROW EXECUTE FUNCTION aliases_count_rollup();
CREATE TRIGGER aliases_count_move AFTER UPDATE OF domain_id ON aliases
    FOR EACH ROW WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id)
    EXECUTE FUNCTION aliases_count_rollup();

-- A BEFORE trigger bumps the row being written instead of a second UPDATE.
CREATE FUNCTION domains_watch_bump() RETURNS trigger AS $$
BEGIN
    NEW.change_seq := OLD.change_seq + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER domains_watch_update BEFORE UPDATE OF name, status, quota_limit ON domains
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.quota_limit IS DISTINCT FROM NEW.quota_limit)
    EXECUTE FUNCTION domains_watch_bump();

-- Domains created or deleted: rare, so one shared counter row is no
-- bottleneck, and it catches a create + delete between two checks that
-- leaves every per-domain number as it was.
CREATE TABLE quota_watch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    domains_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO quota_watch (id, domains_seq) VALUES (1, 0);
CREATE FUNCTION domains_watch_count() RETURNS trigger AS $$
BEGIN
    UPDATE quota_watch SET domains_seq = domains_seq + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER domains_watch_insert AFTER INSERT ON domains
    FOR EACH ROW EXECUTE FUNCTION domains_watch_count();
CREATE TRIGGER domains_watch_delete AFTER DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION domains_watch_count();

CREATE INDEX idx_mailboxes_used_permille ON mailboxes (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), id);
-- No such index on domains here (SQLite has one): an index over quota_used
-- would make every trigger update of a domain row non-HOT, so the rows
-- Dovecot's quota updates churn all day could no longer be pruned in place.
-- Sorting 10,000 domain rows for the dashboard costs a few ms instead.

CREATE TABLE quota_samples (
    id BIGSERIAL PRIMARY KEY,
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
