-- Issue 20: the journal of a mailbox rename whose maildir move has not
-- finished. `mailbox rename` commits the new names together with this row,
-- runs the move command, then deletes the row (or, if the move failed,
-- puts the old names back and deletes it) in a second transaction. While
-- the row exists the mailbox is suspended (old_status keeps what to put
-- back), so Dovecot neither logs it in nor delivers to it, and the
-- generated recipient_access answers 450 for both names: no mail lands in
-- a half-moved home and senders retry. A crash between the two leaves
-- this row; `mailbox rename --resume` (and the next `mailbox rename`)
-- finishes or rolls back from it, deciding by which home exists on disk.
-- mailbox_id, old_username and new_username are unique: one pending move
-- per mailbox and per name. old_domain_id has no ON DELETE: the domain a
-- rollback returns to cannot vanish while the row exists.
CREATE TABLE mailbox_renames (
    id SERIAL PRIMARY KEY,
    mailbox_id INTEGER NOT NULL UNIQUE REFERENCES mailboxes(id),
    old_username VARCHAR(255) NOT NULL UNIQUE CHECK (old_username = lower(old_username)),
    new_username VARCHAR(255) NOT NULL UNIQUE CHECK (new_username = lower(new_username)),
    old_domain_id INTEGER NOT NULL REFERENCES domains(id),
    old_local_part VARCHAR(64) NOT NULL,
    old_home TEXT NOT NULL,
    new_home TEXT NOT NULL,
    old_status VARCHAR(20) NOT NULL,
    keep_alias BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    started_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
