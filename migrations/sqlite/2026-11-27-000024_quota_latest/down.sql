INSERT INTO domain_quota_samples (domain_id, taken_at, used)
    SELECT domain_id, taken_at, used FROM domain_quota_latest;
INSERT INTO mailbox_quota_samples (mailbox_id, taken_at, used)
    SELECT l.mailbox_id, l.taken_at, l.used FROM mailbox_quota_latest l
    WHERE EXISTS (SELECT 1 FROM mailboxes m WHERE m.id = l.mailbox_id);
DROP TRIGGER mailboxes_quota_latest_delete;
DROP TABLE mailbox_quota_latest;
DROP TABLE domain_quota_latest;
