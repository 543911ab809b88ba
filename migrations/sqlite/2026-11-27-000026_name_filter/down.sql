DROP TRIGGER mailboxes_fts_insert;
DROP TRIGGER mailboxes_fts_delete;
DROP TRIGGER mailboxes_fts_update;
DROP TABLE mailboxes_fts;
CREATE VIRTUAL TABLE mailboxes_fts USING fts5(
    username,
    content = 'mailboxes',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO mailboxes_fts(mailboxes_fts) VALUES ('rebuild');
CREATE TRIGGER mailboxes_fts_insert AFTER INSERT ON mailboxes
WHEN NOT EXISTS (SELECT 1 FROM bulk_insert_mode) BEGIN
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
