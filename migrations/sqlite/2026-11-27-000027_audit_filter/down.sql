DROP INDEX idx_audit_logs_shown;
DROP INDEX idx_audit_logs_actor;
DROP INDEX idx_audit_logs_resource_type;
DROP INDEX idx_audit_logs_result;
