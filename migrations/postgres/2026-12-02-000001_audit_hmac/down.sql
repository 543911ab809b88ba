DROP TABLE IF EXISTS audit_chain_key;
