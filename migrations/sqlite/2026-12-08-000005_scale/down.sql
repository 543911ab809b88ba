DROP TRIGGER domains_percent_update;
DROP TRIGGER domains_percent_delete;
DROP TRIGGER domains_percent_insert;
DROP TRIGGER mailboxes_percent_update;
DROP TRIGGER mailboxes_percent_delete;
DROP TRIGGER mailboxes_percent_insert;
DROP TABLE quota_percent_counts;
