-- The `/` filter matches a mailbox's name as well as its address ("Person
-- 20" on screen is found), case-insensitively: a pg_trgm GIN index on
-- lower(name) serves `lower(name) LIKE '%term%'` as idx_mailboxes_username_trgm
-- serves the address (names keep their capitals, addresses are stored
-- lower-case); the two are combined with a BitmapOr.
CREATE INDEX idx_mailboxes_name_trgm ON mailboxes USING gin (lower(name) gin_trgm_ops);
