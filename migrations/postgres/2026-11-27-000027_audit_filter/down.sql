DROP INDEX IF EXISTS idx_audit_logs_shown;
DROP INDEX IF EXISTS idx_audit_logs_actor_id;
DROP INDEX IF EXISTS idx_audit_logs_action_id;
DROP INDEX IF EXISTS idx_audit_logs_user_id_id;
DROP INDEX IF EXISTS idx_audit_logs_resource_type_id;
DROP INDEX IF EXISTS idx_audit_logs_result_id;
CREATE INDEX idx_audit_logs_user_id ON audit_logs(user_id);
CREATE INDEX idx_audit_logs_action ON audit_logs(action);
