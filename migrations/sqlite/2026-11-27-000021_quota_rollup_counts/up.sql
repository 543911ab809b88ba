-- PostgreSQL only (its statement-level rollup); SQLite's row triggers from 000020 already keep the counts. Kept so both backends list the same versions.
SELECT 1;
