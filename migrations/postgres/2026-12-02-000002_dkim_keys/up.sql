-- Issue 17: DKIM keys. A key signs for one name: a hosted domain or an
-- alias domain with its own key (an alias domain without one signs with its
-- target's). `domain` is that name, kept for the unique rules and display;
-- the two references make the key go with its domain. private_key holds the
-- sealed PEM (secrets.rs, bound to this table, column and row id) and is
-- NULL once the key is revoked; public_key is the record's p= value.
CREATE TABLE dkim_keys (
    id SERIAL PRIMARY KEY,
    domain VARCHAR(253) NOT NULL,
    domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,
    alias_domain_id INTEGER REFERENCES alias_domains(id) ON DELETE CASCADE,
    selector VARCHAR(63) NOT NULL,
    algorithm VARCHAR(10) NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    bits INTEGER NOT NULL,
    private_key TEXT,
    public_key TEXT NOT NULL,
    state VARCHAR(10) NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'active', 'retiring', 'revoked')),
    -- The active key a rotation's pending key takes over from on activate.
    replaces_id INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    activated_at TIMESTAMP,
    retired_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((domain_id IS NULL) <> (alias_domain_id IS NULL))
);
CREATE UNIQUE INDEX idx_dkim_keys_domain_selector ON dkim_keys(domain, selector);
-- At most one key of each algorithm signs for a name.
CREATE UNIQUE INDEX idx_dkim_keys_one_active ON dkim_keys(domain, algorithm) WHERE state = 'active';
CREATE INDEX idx_dkim_keys_domain_id ON dkim_keys(domain_id);
CREATE INDEX idx_dkim_keys_alias_domain_id ON dkim_keys(alias_domain_id);
