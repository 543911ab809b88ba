-- Substring search on mailbox addresses at a million rows: a pg_trgm GIN
-- index serves `username LIKE '%term%'` (terms of 3+ characters) directly,
-- so the store's query is unchanged. pg_trgm ships with PostgreSQL
-- (contrib) and is a trusted extension since PostgreSQL 13. Every sort
-- order of the TUI's tables is already served by a UNIQUE index
-- (name/username/address) or the primary key (audit id).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX idx_mailboxes_username_trgm ON mailboxes USING gin (username gin_trgm_ops);
