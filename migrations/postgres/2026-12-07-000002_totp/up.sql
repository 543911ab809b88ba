-- Issue 19: a second factor (TOTP, RFC 6238) for app users. One row per
-- user. secret: the shared secret encrypted with the secrets key, bound to
-- user_totp.secret/<user_id> (src/secrets.rs), never in clear. enabled is
-- set only once a first code has confirmed the enrolment. last_step: the
-- newest 30-second step whose code was accepted; a code is accepted only
-- for a later step, by one conditional UPDATE, so a code is used once
-- across every session and host sharing the database.
CREATE TABLE user_totp (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    enabled_at TIMESTAMP
);
-- One-time recovery codes: only a SHA-256 bound to the user (80 random
-- bits each, so a fast hash cannot be walked back), used_at set once.
CREATE TABLE user_totp_recovery (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX idx_user_totp_recovery_code ON user_totp_recovery(user_id, code_hash);
