-- The audit screen (issue 15 item 16) lists newest first, hides the CLI's
-- successful logins (every CLI command logs in, so on a scripted host they
-- are most of the log) unless asked, and filters by actor, action,
-- resource type and result. Each of those is an index walked in id order,
-- so a page never sorts or scans a million rows:
-- * the default view walks this partial index of the rows it shows; the
--   store repeats its WHERE word for word (store::audit::SHOWN), which is
--   what lets the planner prove the query implies it;
-- * (column, id) indexes for the filters: PostgreSQL's single-column
--   indexes do not end in the id as SQLite's end in the rowid.
CREATE INDEX idx_audit_logs_shown ON audit_logs(id)
    WHERE NOT (action = 'login' AND result = 'ok' AND COALESCE(user_agent, '') LIKE '%(cli)');
CREATE INDEX idx_audit_logs_actor_id ON audit_logs(actor, id);
CREATE INDEX idx_audit_logs_action_id ON audit_logs(action, id);
CREATE INDEX idx_audit_logs_user_id_id ON audit_logs(user_id, id);
CREATE INDEX idx_audit_logs_resource_type_id ON audit_logs(resource_type, id);
CREATE INDEX idx_audit_logs_result_id ON audit_logs(result, id);
-- Their prefixes, now redundant (as in 000023).
DROP INDEX idx_audit_logs_action;
DROP INDEX idx_audit_logs_user_id;
