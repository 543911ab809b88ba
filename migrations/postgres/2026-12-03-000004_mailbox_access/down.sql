DROP INDEX idx_app_passwords_mailbox;
DROP INDEX idx_app_passwords_live_name;
DROP TABLE app_passwords;
ALTER TABLE domains DROP COLUMN password_max_age_days;
ALTER TABLE mailboxes DROP COLUMN password_expires_at;
ALTER TABLE mailboxes DROP COLUMN sieve_enabled;
ALTER TABLE mailboxes DROP COLUMN smtp_enabled;
ALTER TABLE mailboxes DROP COLUMN pop3_enabled;
ALTER TABLE mailboxes DROP COLUMN imap_enabled;
