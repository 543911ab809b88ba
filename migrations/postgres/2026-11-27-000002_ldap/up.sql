-- LDAP servers: how to reach them (TLS mode, CA file), how to find a user
-- (attribute, extra filter) and in which order to try them. Admin users can
-- be authenticated by an LDAP bind instead of a local bcrypt hash.

-- The seed's use_ssl meant LDAPS; tls_mode is the full answer and ops keep
-- use_ssl = (tls_mode = 'ldaps') so the old column still means what it did.
ALTER TABLE ldap_configs ADD COLUMN tls_mode VARCHAR(10) NOT NULL DEFAULT 'none'
    CHECK (tls_mode IN ('none', 'starttls', 'ldaps'));
ALTER TABLE ldap_configs ADD COLUMN ca_file VARCHAR(1024);
ALTER TABLE ldap_configs ADD COLUMN user_attribute VARCHAR(64) NOT NULL DEFAULT 'uid';
ALTER TABLE ldap_configs ADD COLUMN user_filter VARCHAR(1024);
-- Lower is tried first at login; ties broken by id.
ALTER TABLE ldap_configs ADD COLUMN priority INTEGER NOT NULL DEFAULT 100;
UPDATE ldap_configs SET tls_mode = 'ldaps' WHERE use_ssl;
-- The encrypted form ("v1:" + base64 of nonce, ciphertext and tag) of a
-- long password does not fit the seed's VARCHAR(255).
ALTER TABLE ldap_configs ALTER COLUMN bind_password TYPE TEXT;
CREATE UNIQUE INDEX idx_ldap_configs_server_name ON ldap_configs(server_name);
CREATE INDEX idx_ldap_configs_active_priority ON ldap_configs(is_active, priority, id);

-- 'ldap' users log in by binding to the directory; their password_hash holds
-- an unusable marker. ldap_server_id records the server an account was
-- imported from (no REFERENCES, as on SQLite; ops clear it when a server is
-- deleted).
ALTER TABLE users ADD COLUMN auth_source VARCHAR(10) NOT NULL DEFAULT 'local'
    CHECK (auth_source IN ('local', 'ldap'));
ALTER TABLE users ADD COLUMN ldap_server_id INTEGER;
