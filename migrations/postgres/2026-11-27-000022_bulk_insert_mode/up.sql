-- SQLite only (its per-row insert triggers; PostgreSQL's rollup is already
-- statement-level and it has no FTS table). Kept so both backends list the
-- same versions.
SELECT 1;
