-- Issue 19 (mailboxes): which protocols a mailbox may log in to, when its
-- password stops working, and per-device app passwords. The generated
-- Dovecot passdb (assets/mail/dovecot-sql.conf.ext) reads all of it.

-- Per-protocol switches (PostfixAdmin's smtp_active, mailcow's
-- imap/pop3/smtp_access): smtp covers Postfix SASL and Dovecot submission,
-- sieve is ManageSieve. Delivery (LMTP, the userdb) ignores them.
ALTER TABLE mailboxes ADD COLUMN imap_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN pop3_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN smtp_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN sieve_enabled BOOLEAN NOT NULL DEFAULT TRUE;
-- NULL: never expires. Set to now + the domain's password_max_age_days on
-- every password change; the passdb refuses the mailbox password after it.
ALTER TABLE mailboxes ADD COLUMN password_expires_at TIMESTAMP;
-- NULL: mailbox passwords of the domain do not expire.
ALTER TABLE domains ADD COLUMN password_max_age_days INTEGER
    CHECK (password_max_age_days IS NULL OR password_max_age_days BETWEEN 1 AND 3650);

-- An app password is a generated credential for one device or program,
-- limited to some protocols, revocable on its own. `selector` is its public
-- first part (the `pmapp-` prefix and 8 random characters): the passdb finds
-- the row by it, so only that prefix of a typed password ever reaches SQL,
-- and Dovecot checks the whole password against the bcrypt hash. Revoked
-- rows stay (revoked_at set) for the record; their names may be reused.
CREATE TABLE app_passwords (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    name VARCHAR(64) NOT NULL,
    selector VARCHAR(32) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    allow_imap BOOLEAN NOT NULL DEFAULT FALSE,
    allow_pop3 BOOLEAN NOT NULL DEFAULT FALSE,
    allow_smtp BOOLEAN NOT NULL DEFAULT FALSE,
    allow_sieve BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    last_used TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (allow_imap OR allow_pop3 OR allow_smtp OR allow_sieve)
);
-- One live app password of a name per mailbox.
CREATE UNIQUE INDEX idx_app_passwords_live_name ON app_passwords(mailbox_id, name) WHERE revoked_at IS NULL;
CREATE INDEX idx_app_passwords_mailbox ON app_passwords(mailbox_id);
