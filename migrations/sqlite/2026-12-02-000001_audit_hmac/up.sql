-- Issue 14 item 5: rows from `keyed_from` on are chained with HMAC-SHA256
-- under a key kept outside the database (`[audit] key_file`); rows before
-- it keep the unkeyed SHA-256 they were written with. `key_id` names the
-- key (a MAC of a fixed label), so a wrong key file is told apart from
-- tampering. One row, written with the first keyed audit row.
CREATE TABLE audit_chain_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from BIGINT NOT NULL,
    key_id VARCHAR(64) NOT NULL
);
