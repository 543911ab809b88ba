-- Issue 20: send-as grants. The generated sender login map
-- (smtpd_sender_login_maps) names the grantee as an owner of `address`
-- (one address, or `@domain`: every address of the domain), besides the
-- addresses it owns today (its own, aliases leading to it).
-- A grant belongs to a live mailbox (mailbox_id) or, while that mailbox is
-- on the deletion hold, to its hold row (held_id): the hold keeps its
-- grants for a restore without Postfix seeing them (the map joins live
-- mailboxes only), and a purge takes them with it. Exactly one is set.
-- domain_id is the granted address's domain: deleting the domain deletes
-- its grants, so a domain added again later under the same name (perhaps
-- for another tenant) does not inherit them.
CREATE TABLE sender_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    held_id INTEGER REFERENCES deleted_mailboxes(id) ON DELETE CASCADE,
    address VARCHAR(255) NOT NULL CHECK (address = lower(address)),
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by VARCHAR(255) NOT NULL,
    CHECK ((mailbox_id IS NULL) <> (held_id IS NULL))
);
CREATE UNIQUE INDEX idx_sender_grants_mailbox_address ON sender_grants(mailbox_id, address);
-- The map's lookup (address = '%s' or '@%d').
CREATE INDEX idx_sender_grants_address ON sender_grants(address);
CREATE INDEX idx_sender_grants_held ON sender_grants(held_id);
CREATE INDEX idx_sender_grants_domain ON sender_grants(domain_id);
