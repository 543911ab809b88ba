-- The `/` filter matches a mailbox's name as well as its address ("Person
-- 20" on screen is found). The trigram index now covers both columns, so a
-- name search at a million rows is served as an address search is: the
-- index narrows, the store's LIKE decides. A phrase without a column
-- filter matches either column.
DROP TRIGGER mailboxes_fts_insert;
DROP TRIGGER mailboxes_fts_delete;
DROP TRIGGER mailboxes_fts_update;
DROP TABLE mailboxes_fts;
CREATE VIRTUAL TABLE mailboxes_fts USING fts5(
    username,
    name,
    content = 'mailboxes',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO mailboxes_fts(mailboxes_fts) VALUES ('rebuild');

CREATE TRIGGER mailboxes_fts_insert AFTER INSERT ON mailboxes
WHEN NOT EXISTS (SELECT 1 FROM bulk_insert_mode) BEGIN
    INSERT INTO mailboxes_fts(rowid, username, name) VALUES (NEW.id, NEW.username, NEW.name);
END;
CREATE TRIGGER mailboxes_fts_delete AFTER DELETE ON mailboxes BEGIN
    INSERT INTO mailboxes_fts(mailboxes_fts, rowid, username, name)
        VALUES ('delete', OLD.id, OLD.username, OLD.name);
END;
-- IS NOT: a name set from or to NULL is a change too.
CREATE TRIGGER mailboxes_fts_update AFTER UPDATE OF username, name ON mailboxes
WHEN OLD.username <> NEW.username OR OLD.name IS NOT NEW.name BEGIN
    INSERT INTO mailboxes_fts(mailboxes_fts, rowid, username, name)
        VALUES ('delete', OLD.id, OLD.username, OLD.name);
    INSERT INTO mailboxes_fts(rowid, username, name) VALUES (NEW.id, NEW.username, NEW.name);
END;
