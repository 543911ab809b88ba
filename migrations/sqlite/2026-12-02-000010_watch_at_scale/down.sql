DROP TRIGGER domains_watch_stripe;
DROP TABLE quota_watch_stripes;
