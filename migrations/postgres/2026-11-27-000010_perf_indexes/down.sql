-- The extension stays: another schema object or a DBA may rely on it.
DROP INDEX IF EXISTS idx_mailboxes_username_trgm;
