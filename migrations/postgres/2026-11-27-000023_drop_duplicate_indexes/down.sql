CREATE INDEX idx_users_username ON users(username);
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_domains_name ON domains(name);
CREATE INDEX idx_mailboxes_username ON mailboxes(username);
CREATE INDEX idx_mailboxes_domain_id ON mailboxes(domain_id);
CREATE INDEX idx_aliases_address ON aliases(address);
