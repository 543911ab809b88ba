-- The audit screen (issue 15 item 16) lists newest first, hides the CLI's
-- successful logins (every CLI command logs in, so on a scripted host they
-- are most of the log) unless asked, and filters by actor, action,
-- resource type and result. Each of those is an index walked in id order,
-- so a page never sorts or scans a million rows:
-- * the default view walks this partial index of the rows it shows; the
--   store repeats its WHERE word for word (store::audit::SHOWN), which is
--   what lets both planners use it;
-- * action and user_id already have indexes, which on SQLite end in the
--   rowid (= id); actor, resource type and result get theirs here.
CREATE INDEX idx_audit_logs_shown ON audit_logs(id)
    WHERE NOT (action = 'login' AND result = 'ok' AND COALESCE(user_agent, '') LIKE '%(cli)');
CREATE INDEX idx_audit_logs_actor ON audit_logs(actor);
CREATE INDEX idx_audit_logs_resource_type ON audit_logs(resource_type);
CREATE INDEX idx_audit_logs_result ON audit_logs(result);
