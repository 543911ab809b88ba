-- Issue 23 item 4, 100,000 domains and 10,000,000 mailboxes: the change
-- check (every 2 s per open dashboard or table screen) summed change_seq
-- over every domain row, 0.75 ms at 10,000 domains and ten times that at
-- 100,000. Every change_seq bump now also counts into a stripe row, and an
-- unscoped check reads that. PostgreSQL spreads its writers over 64
-- stripes; SQLite has one writer at a time, so one stripe is enough.
CREATE TABLE quota_watch_stripes (
    stripe INTEGER PRIMARY KEY,
    changes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO quota_watch_stripes (stripe, changes) VALUES (0, 0);
CREATE TRIGGER domains_watch_stripe AFTER UPDATE OF change_seq ON domains
WHEN OLD.change_seq <> NEW.change_seq BEGIN
    UPDATE quota_watch_stripes SET changes = changes + 1 WHERE stripe = 0;
END;
