-- Issue 18: the last deliverability check of each domain (its alias
-- domains included), so the TUI and `health --dns` show the state without
-- resolving on every draw. Written only by ops::dns, after resolving.
-- findings: JSON array of dns::grade::Finding (name, purpose, grade,
-- reason, expected, found, ttl). min_ttl: the smallest TTL of the records
-- seen; fresh_until = checked_at + min_ttl, before which resolvers may
-- still hand out what was seen.
CREATE TABLE dns_checks (
    domain_id INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
    status VARCHAR(10) NOT NULL CHECK (status IN ('ok', 'warning', 'error')),
    summary TEXT NOT NULL,
    findings TEXT NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    min_ttl INTEGER,
    fresh_until TIMESTAMP
);
CREATE INDEX idx_dns_checks_status ON dns_checks(status);
