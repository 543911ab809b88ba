-- Same name as the PostgreSQL migration that made the quota rollup
-- statement-level. SQLite updates rows in place, so its row triggers stay;
-- they only skip the domain update when there is nothing to add (new
-- mailboxes start at 0 bytes used), which is most of a bulk import.
DROP TRIGGER mailboxes_quota_insert;
CREATE TRIGGER mailboxes_quota_insert AFTER INSERT ON mailboxes
WHEN NEW.quota_used <> 0 BEGIN
    UPDATE domains SET quota_used = quota_used + NEW.quota_used WHERE id = NEW.domain_id;
END;
