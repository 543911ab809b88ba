-- Substring search on mailbox addresses at a million rows. `LIKE '%term%'`
-- cannot use a B-tree, so an FTS5 trigram index (bundled SQLite has FTS5
-- and the trigram tokenizer, 3.34+) finds candidate rows; the store still
-- applies the LIKE, so the index only narrows and results equal LIKE's.
-- External content: the index stores trigrams, not a second copy of the
-- addresses. Every sort order of the TUI's tables is already served by a
-- UNIQUE index (name/username/address) or the primary key (audit id).
CREATE VIRTUAL TABLE mailboxes_fts USING fts5(
    username,
    content = 'mailboxes',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO mailboxes_fts(mailboxes_fts) VALUES ('rebuild');

-- Kept current by triggers, like domains.quota_used, so every writer
-- (this tool, Dovecot, manual SQL) keeps it right.
CREATE TRIGGER mailboxes_fts_insert AFTER INSERT ON mailboxes BEGIN
    INSERT INTO mailboxes_fts(rowid, username) VALUES (NEW.id, NEW.username);
END;
CREATE TRIGGER mailboxes_fts_delete AFTER DELETE ON mailboxes BEGIN
    INSERT INTO mailboxes_fts(mailboxes_fts, rowid, username) VALUES ('delete', OLD.id, OLD.username);
END;
CREATE TRIGGER mailboxes_fts_update AFTER UPDATE OF username ON mailboxes
WHEN OLD.username <> NEW.username BEGIN
    INSERT INTO mailboxes_fts(mailboxes_fts, rowid, username) VALUES ('delete', OLD.id, OLD.username);
    INSERT INTO mailboxes_fts(rowid, username) VALUES (NEW.id, NEW.username);
END;
