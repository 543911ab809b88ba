DROP TABLE mailbox_renames;
