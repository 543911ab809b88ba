DROP TABLE deleted_mailboxes;
