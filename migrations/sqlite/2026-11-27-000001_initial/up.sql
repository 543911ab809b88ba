-- The seed design's tables, plus what a working Postfix/Dovecot host needs:
-- aliases, alias domains, per-domain limits, optimistic-lock versions and
-- login-failure counters. Quotas are bytes; 0 means "no limit".
-- Timestamps are UTC.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(80) NOT NULL UNIQUE CHECK (username = lower(username)),
    email VARCHAR(120) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(20) NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'readonly')),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_login TIMESTAMP,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    last_failed_login TIMESTAMP,
    locked_until TIMESTAMP,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_users_username ON users(username);
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_role ON users(role);
CREATE INDEX idx_users_status ON users(status);

CREATE TABLE domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(255) NOT NULL UNIQUE CHECK (name = lower(name)),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    quota_limit BIGINT NOT NULL DEFAULT 1073741824 CHECK (quota_limit >= 0),
    quota_used BIGINT NOT NULL DEFAULT 0,
    description TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    max_mailboxes INTEGER NOT NULL DEFAULT 0 CHECK (max_mailboxes >= 0),
    max_aliases INTEGER NOT NULL DEFAULT 0 CHECK (max_aliases >= 0),
    max_mailbox_quota BIGINT NOT NULL DEFAULT 0 CHECK (max_mailbox_quota >= 0),
    transport VARCHAR(255),
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_domains_name ON domains(name);
CREATE INDEX idx_domains_status ON domains(status);

CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(255) NOT NULL UNIQUE CHECK (username = lower(username)),
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    password_hash VARCHAR(255) NOT NULL,
    quota_limit BIGINT NOT NULL DEFAULT 1073741824 CHECK (quota_limit >= 0),
    quota_used BIGINT NOT NULL DEFAULT 0 CHECK (quota_used >= 0),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_login TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    local_part VARCHAR(64) NOT NULL,
    name VARCHAR(255),
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_mailboxes_username ON mailboxes(username);
CREATE INDEX idx_mailboxes_domain_id ON mailboxes(domain_id);
CREATE INDEX idx_mailboxes_status ON mailboxes(status);
CREATE INDEX idx_mailboxes_domain_username ON mailboxes(domain_id, username);

CREATE TABLE aliases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- "user@domain", or "@domain" for the domain's catch-all
    address VARCHAR(255) NOT NULL UNIQUE CHECK (address = lower(address)),
    -- destinations, comma-separated, exactly as Postfix's virtual_alias_maps returns them
    goto TEXT NOT NULL,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    description TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_aliases_address ON aliases(address);
CREATE INDEX idx_aliases_domain_id ON aliases(domain_id);
CREATE INDEX idx_aliases_status ON aliases(status);

CREATE TABLE alias_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(255) NOT NULL UNIQUE CHECK (name = lower(name)),
    target_domain_id INTEGER NOT NULL REFERENCES domains(id),
    status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_alias_domains_target ON alias_domains(target_domain_id);

CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users(id),
    action VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50),
    resource_id BIGINT,
    details TEXT,
    ip_address VARCHAR(45),
    user_agent TEXT,
    timestamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- the acting user's name as typed, kept for refused logins of unknown users
    actor VARCHAR(80),
    result VARCHAR(20) NOT NULL DEFAULT 'ok' CHECK (result IN ('ok', 'refused', 'failed')),
    -- SHA-256 chain: row_hash covers this row and prev_hash, the previous row's row_hash
    prev_hash VARCHAR(64) NOT NULL,
    row_hash VARCHAR(64) NOT NULL
);
CREATE INDEX idx_audit_logs_user_id ON audit_logs(user_id);
CREATE INDEX idx_audit_logs_timestamp ON audit_logs(timestamp);
CREATE INDEX idx_audit_logs_action ON audit_logs(action);
CREATE INDEX idx_audit_logs_resource ON audit_logs(resource_type, resource_id);

CREATE TABLE mail_server_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_name VARCHAR(50) NOT NULL,
    config_file VARCHAR(255) NOT NULL,
    config_data TEXT NOT NULL,
    backup_file VARCHAR(255),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX idx_mail_server_configs_service ON mail_server_configs(service_name, config_file);

CREATE TABLE ldap_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_name VARCHAR(255) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port INTEGER NOT NULL DEFAULT 389,
    use_ssl BOOLEAN NOT NULL DEFAULT FALSE,
    bind_dn VARCHAR(255),
    bind_password VARCHAR(255),
    base_dn VARCHAR(255) NOT NULL,
    user_search_base VARCHAR(255),
    group_search_base VARCHAR(255),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE user_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    -- JSON array of granted permissions: "mailboxes", "aliases", "domain"
    permissions TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (user_id, domain_id)
);
CREATE INDEX idx_user_domains_domain_id ON user_domains(domain_id);

-- A domain's quota_used is the sum of its mailboxes' usage. Triggers keep it
-- current whoever writes the mailbox row (this tool, Dovecot's quota dict,
-- quota sync), so no code path can forget it.
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;
CREATE TRIGGER mailboxes_quota_delete AFTER DELETE ON mailboxes BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used WHERE id = OLD.domain_id;
END;
CREATE TRIGGER mailboxes_quota_update AFTER UPDATE OF quota_used, domain_id ON mailboxes
WHEN OLD.quota_used <> NEW.quota_used OR OLD.domain_id <> NEW.domain_id BEGIN
    UPDATE domains SET quota_used = quota_used - OLD.quota_used WHERE id = OLD.domain_id;
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;

-- Audit rows are append-only: the database itself refuses UPDATE and DELETE.
-- The one exception is `audit prune`, which inserts a guard row, deletes,
-- records where the chain now starts (audit_chain_anchor) and removes the
-- guard, all in one transaction.
CREATE TABLE audit_prune_guard (token INTEGER PRIMARY KEY);
CREATE TABLE audit_chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    first_id BIGINT NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    pruned_at TIMESTAMP NOT NULL
);
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard) BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only; old rows are removed with postfix-manager audit prune');
END;
