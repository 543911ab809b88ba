DROP TRIGGER IF EXISTS mailboxes_fts_update;
DROP TRIGGER IF EXISTS mailboxes_fts_delete;
DROP TRIGGER IF EXISTS mailboxes_fts_insert;
DROP TABLE IF EXISTS mailboxes_fts;
