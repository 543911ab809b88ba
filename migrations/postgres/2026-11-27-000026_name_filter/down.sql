DROP INDEX IF EXISTS idx_mailboxes_name_trgm;
