-- Issue 20: a mailbox's vacation (auto-reply). At most one row per mailbox;
-- `mailbox vacation off` keeps the row with enabled = FALSE so the text is
-- there to switch on again. The reply itself is a Pigeonhole Sieve script
-- (src/sieve.rs) that ops/vacation.rs installs into the mailbox's Sieve
-- storage with [vacation] install_command in the same transaction as the
-- row; Dovecot never reads this table, so the read-only lookup role needs
-- no GRANT. from_date/until_date: the first and the last day (inclusive,
-- the mail server's local calendar) on which replies go out; NULL = open.
-- The script tests the dates itself (currentdate), so a vacation switches
-- itself on and off without a cron job. days: Pigeonhole's :days, the
-- interval before the same sender is answered again. excludes: senders
-- never answered, one per line (an address or @domain).
CREATE TABLE vacations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER NOT NULL UNIQUE REFERENCES mailboxes(id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    subject VARCHAR(255) NOT NULL,
    body TEXT NOT NULL,
    from_date DATE,
    until_date DATE,
    days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 365),
    excludes TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (from_date IS NULL OR until_date IS NULL OR from_date <= until_date)
);
