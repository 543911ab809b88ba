DROP TABLE user_totp_recovery;
DROP TABLE user_totp;
