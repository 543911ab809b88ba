-- Indexes that duplicate another one exactly: a UNIQUE constraint already
-- has its own index on the same column (username, email, name, address),
-- and (domain_id, username) serves every lookup by domain_id alone. Each
-- was written on every insert and on every update that moved the row, for
-- nothing: a bulk status change of 10,000 mailboxes on PostgreSQL spent a
-- fifth of its time in the two on mailboxes.
DROP INDEX IF EXISTS idx_users_username;
DROP INDEX IF EXISTS idx_users_email;
DROP INDEX IF EXISTS idx_domains_name;
DROP INDEX IF EXISTS idx_mailboxes_username;
DROP INDEX IF EXISTS idx_mailboxes_domain_id;
DROP INDEX IF EXISTS idx_aliases_address;
