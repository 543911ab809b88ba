-- Issue 21: sending limits, the policy service's counters, containment.
-- A limit belongs to one mailbox or one domain (exactly one of the two
-- ids); a NULL column inherits: mailbox -> its domain -> [policyd] defaults.
CREATE TABLE send_limits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,
    per_hour INTEGER,
    per_day INTEGER,
    rcpt_per_msg INTEGER,
    rcpt_per_day INTEGER,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK ((mailbox_id IS NULL) <> (domain_id IS NULL))
);
CREATE UNIQUE INDEX idx_send_limits_mailbox ON send_limits(mailbox_id);
CREATE UNIQUE INDEX idx_send_limits_domain ON send_limits(domain_id);

-- Fixed windows: one row per SASL sender, window length (3600 or 86400 s)
-- and window start (Unix seconds, UTC). Every policy service host adds its
-- counts with UPSERTs, so hosts sharing a PostgreSQL database share one
-- count (docs/policy-service.md has the error bound).
CREATE TABLE send_counters (
    sender VARCHAR(320) NOT NULL,
    span_secs INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    recipients BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (sender, span_secs, window_start)
);
CREATE INDEX idx_send_counters_window ON send_counters(span_secs, window_start);

-- A mailbox that may not send: the generated Dovecot passdb refuses its
-- smtp/submission logins, the sender login map stops naming it, and the
-- policy service refuses its recipients. Resuming deletes the row (the
-- audit log keeps the history).
CREATE TABLE sending_suspensions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    automatic BOOLEAN NOT NULL DEFAULT FALSE,
    created_by VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_sending_suspensions_mailbox ON sending_suspensions(mailbox_id);

-- One row per policy service host: its heartbeat and its last trouble,
-- for `health`.
CREATE TABLE policyd_status (
    host VARCHAR(255) PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    seen_at TIMESTAMP NOT NULL,
    decisions BIGINT NOT NULL DEFAULT 0,
    fail_open BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at TIMESTAMP
);
