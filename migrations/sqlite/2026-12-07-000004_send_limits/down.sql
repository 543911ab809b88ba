DROP TABLE policyd_status;
DROP TABLE sending_suspensions;
DROP TABLE send_counters;
DROP TABLE send_limits;
