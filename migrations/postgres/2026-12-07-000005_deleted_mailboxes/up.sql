-- Issue 20: a deleted mailbox waits here for its purge (default 30 days).
-- The row leaves `mailboxes`, so every generated Postfix map and the
-- Dovecot passdb/userdb stop seeing it in the same commit; the generated
-- recipient_access answers 5xx for an address held here, so a catch-all
-- cannot swallow its mail either. Its maildir stays on disk until `mailbox
-- purge` runs the purge command, and only then is this row deleted (never
-- the row first: a row without a maildir is harmless, a maildir without a
-- row is an orphan nobody will clean). `username` is unique: an address on
-- hold cannot be reused until it is purged.
-- `domain` is the name as text because a domain deleted with --cascade
-- takes its id with it (domain_id is then NULL and only admins see the
-- hold); a restore needs the domain to exist again under that name.
-- `aliases` is JSON: the alias rows that named the mailbox as they were,
-- for a restore to put back.
CREATE TABLE deleted_mailboxes (
    id SERIAL PRIMARY KEY,
    username VARCHAR(255) NOT NULL UNIQUE CHECK (username = lower(username)),
    domain VARCHAR(255) NOT NULL,
    domain_id INTEGER REFERENCES domains(id) ON DELETE SET NULL,
    local_part VARCHAR(64) NOT NULL,
    mailbox_id INTEGER NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    quota_limit BIGINT NOT NULL CHECK (quota_limit >= 0),
    quota_used BIGINT NOT NULL CHECK (quota_used >= 0),
    status VARCHAR(20) NOT NULL,
    name VARCHAR(255),
    imap_enabled BOOLEAN NOT NULL,
    pop3_enabled BOOLEAN NOT NULL,
    smtp_enabled BOOLEAN NOT NULL,
    sieve_enabled BOOLEAN NOT NULL,
    password_expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    deleted_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    deleted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    purge_after TIMESTAMP NOT NULL
);
-- `mailbox purge --due` and the Deleted screen's order.
CREATE INDEX idx_deleted_mailboxes_purge_after ON deleted_mailboxes(purge_after);
CREATE INDEX idx_deleted_mailboxes_domain_id ON deleted_mailboxes(domain_id);
