ALTER TABLE users DROP COLUMN ldap_server_id;
ALTER TABLE users DROP COLUMN auth_source;
DROP INDEX idx_ldap_configs_active_priority;
DROP INDEX idx_ldap_configs_server_name;
ALTER TABLE ldap_configs DROP COLUMN priority;
ALTER TABLE ldap_configs DROP COLUMN user_filter;
ALTER TABLE ldap_configs DROP COLUMN user_attribute;
ALTER TABLE ldap_configs DROP COLUMN ca_file;
ALTER TABLE ldap_configs DROP COLUMN tls_mode;
