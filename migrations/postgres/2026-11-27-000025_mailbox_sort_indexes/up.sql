-- The mailbox screen's "bytes used", "quota" and "percent used" orders
-- (issue 23): the list orders by the value then the address, so these
-- indexes hand out every page, first, middle or last, as a short range
-- instead of sorting all mailboxes (the permille index from 000020 ends in
-- the id, which the dashboard's keyset uses, so it could only presort).
-- quota_used was already covered by that index, so Dovecot's usage updates
-- were not HOT on PostgreSQL before either. The permille expression is the
-- text of store::quota::PERMILLE, word for word.
CREATE INDEX idx_mailboxes_quota_used_username ON mailboxes (quota_used, username);
CREATE INDEX idx_mailboxes_quota_limit_username ON mailboxes (quota_limit, username);
CREATE INDEX idx_mailboxes_permille_username ON mailboxes (
    (CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END), username);
