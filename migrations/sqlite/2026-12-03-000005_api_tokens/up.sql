-- Issue 19: tokens for scripts. A token acts for its owner, never beyond
-- the owner's rights at the time of use, capped further by its own role
-- and domain list. Only the SHA-256 of the token is kept (256 random bits:
-- a fast hash is enough, and one indexed probe finds the row without a
-- bcrypt per call). domain_ids: NULL = every domain the owner may reach;
-- otherwise a comma-separated id list (a deleted domain's id matches
-- nothing, so a scoped token never widens). allowed_from: NULL = anywhere,
-- else comma-separated CIDRs matched against the SSH client address.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name VARCHAR(64) NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    role VARCHAR(10) NOT NULL CHECK (role IN ('admin', 'user', 'readonly')),
    domain_ids TEXT,
    allowed_from TEXT,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX idx_api_tokens_hash ON api_tokens(token_hash);
CREATE UNIQUE INDEX idx_api_tokens_user_name ON api_tokens(user_id, name);
