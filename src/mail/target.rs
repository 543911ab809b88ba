//! How Postfix and Dovecot reach our database: the configured URL turned into
//! the connection lines each program's SQL driver understands.

use std::path::{Path, PathBuf};

use crate::db::DbUrl;
use crate::error::{OpError, OpResult};

/// The database as the mail programs see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An absolute path: Postfix silently creates a missing sqlite file, so
    /// the path must already name our database.
    Sqlite(PathBuf),
    Postgres(PgParams),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgParams {
    /// A host name, an IP address, or a socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dbname: String,
    pub sslmode: Option<String>,
    /// When non-empty, the hosts Postfix and Dovecot query instead of
    /// `host` (same port, user, database and TLS settings): a primary and
    /// its streaming replicas (`[mail] lookup_hosts`).
    pub lookup_hosts: Vec<String>,
}

impl Target {
    pub fn from_url(url: &DbUrl) -> OpResult<Target> {
        match url {
            DbUrl::Sqlite(p) => {
                let abs = std::fs::canonicalize(p).map_err(|e| {
                    OpError::invalid(
                        "database_url",
                        format!(
                            "SQLite file {} must exist for the mail maps: {e}",
                            p.display()
                        ),
                    )
                })?;
                check_value("database_url", &abs.to_string_lossy())?;
                Ok(Target::Sqlite(abs))
            }
            DbUrl::Postgres(u) => Ok(Target::Postgres(PgParams::parse(u)?)),
        }
    }

    /// `sqlite` or `pgsql`: the map type in Postfix and the driver in Dovecot.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "sqlite",
            Target::Postgres(_) => "pgsql",
        }
    }

    /// The connection lines at the top of every Postfix `.cf` map file.
    pub fn postfix_header(&self) -> String {
        match self {
            Target::Sqlite(p) => format!("dbpath = {}\n", p.display()),
            Target::Postgres(pg) => {
                // Postfix tries the hosts in random order (pgsql_table(5))
                // and skips one that fails for a while, so every entry must
                // be able to answer every lookup.
                let hosts = pg
                    .hosts()
                    .iter()
                    .map(|h| pg.postfix_host(h))
                    .collect::<Vec<_>>()
                    .join(" ");
                format!(
                    "hosts = {hosts}\nuser = {}\npassword = {}\ndbname = {}\n",
                    pg.user, pg.password, pg.dbname
                )
            }
        }
    }

    /// How the backend's SQL compares a TIMESTAMP column (naive UTC) with
    /// the current time: a function to wrap the column in, and now. On
    /// SQLite the column is text with microseconds and CURRENT_TIMESTAMP
    /// has whole seconds, so text order would call a time later in this
    /// second "not yet"; julianday() compares them as instants.
    pub fn sql_time(&self) -> (&'static str, &'static str) {
        match self {
            Target::Sqlite(_) => ("julianday", "julianday('now')"),
            Target::Postgres(_) => ("", "(now() AT TIME ZONE 'UTC')"),
        }
    }

    /// Dovecot's `connect =` value.
    pub fn dovecot_connect(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(pg) => pg.conninfo(),
        }
    }

    /// The same database reached through `hosts` (`[mail] lookup_hosts`):
    /// each `host`, `host:port`, `[v6addr]:port` or socket directory. Empty
    /// leaves the URL's host. Dovecot's `connect` takes one `port=` for all
    /// its `host=`s, so every entry must use the same port.
    pub fn with_lookup_hosts(self, hosts: &[String]) -> OpResult<Target> {
        const FIELD: &str = "mail.lookup_hosts";
        if hosts.is_empty() {
            return Ok(self);
        }
        let mut pg =
            match self {
                Target::Sqlite(_) => return Err(OpError::invalid(
                    FIELD,
                    "applies to PostgreSQL only (a SQLite database is one local file); remove it",
                )),
                Target::Postgres(pg) => pg,
            };
        let mut parsed: Vec<(String, u16)> = Vec::new();
        for raw in hosts {
            let entry = raw.trim();
            let bad = |why: &str| OpError::invalid(FIELD, format!("{entry:?}: {why}"));
            // Postfix splits `hosts` on blanks and commas; libpq and Dovecot
            // would read quotes and backslashes as quoting.
            if entry.is_empty()
                || entry
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, ',' | '\'' | '\\' | '%' | '='))
                || entry.chars().any(char::is_control)
            {
                return Err(bad(
                    "must be a host, host:port, [address]:port or socket directory, without blanks, commas, quotes, '=' or '%'",
                ));
            }
            let (host, port) = if entry.starts_with('/') {
                (entry.to_string(), None)
            } else if !entry.starts_with('[') && entry.matches(':').count() > 1 {
                return Err(bad(
                    "an IPv6 address goes in brackets: [address] or [address]:port",
                ));
            } else {
                split_host_port(entry).map_err(|e| bad(&e))?
            };
            if host.is_empty() {
                return Err(bad("names no host"));
            }
            let port = port.unwrap_or(pg.port);
            if parsed.iter().any(|(h, _)| *h == host) {
                return Err(bad("is listed twice"));
            }
            if let Some((h0, p0)) = parsed.first() {
                if *p0 != port {
                    return Err(OpError::invalid(
                        FIELD,
                        format!(
                            "every host must use the same port (Dovecot's connect line takes one port=): {h0} uses {p0}, {host} uses {port}"
                        ),
                    ));
                }
            }
            parsed.push((host, port));
        }
        pg.port = parsed[0].1;
        pg.host = parsed[0].0.clone();
        pg.lookup_hosts = parsed.into_iter().map(|(h, _)| h).collect();
        Ok(Target::Postgres(pg))
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Target::Sqlite(p) => Some(p),
            Target::Postgres(_) => None,
        }
    }
}

/// Values end up on one line of a config file read by another program: a
/// newline or `%` (Dovecot's and Postfix's expansion character) would change
/// what that line means.
fn check_value(field: &str, v: &str) -> OpResult<()> {
    if v.chars().any(|c| c.is_control() || c == '%') {
        return Err(OpError::invalid(
            field,
            "must not contain control characters or '%' (they would change the generated config lines)",
        ));
    }
    Ok(())
}

impl PgParams {
    /// `postgres://[user[:password]@][host][:port][/dbname][?host=..&port=..&sslmode=..]`
    pub fn parse(url: &str) -> OpResult<PgParams> {
        let bad = |why: String| OpError::invalid("database_url", why);
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("must start with postgres:// or postgresql://".into()))?;
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let mut p = PgParams {
            host: "localhost".into(),
            port: 5432,
            user: "postgres".into(),
            ..Default::default()
        };
        if let Some(ui) = userinfo {
            let (u, pw) = match ui.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (ui, None),
            };
            if !u.is_empty() {
                p.user = percent_decode(u).map_err(bad)?;
            }
            if let Some(pw) = pw {
                p.password = percent_decode(pw).map_err(bad)?;
            }
        }
        let (host, port) = split_host_port(hostport).map_err(bad)?;
        if !host.is_empty() {
            p.host = percent_decode(&host).map_err(bad)?;
        }
        if let Some(port) = port {
            p.port = port;
        }
        p.dbname = percent_decode(path).map_err(bad)?;
        for pair in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v).map_err(bad)?;
            match k {
                "host" => p.host = v,
                "port" => {
                    p.port = v
                        .parse()
                        .map_err(|_| bad(format!("port {v:?} is not a number")))?
                }
                "user" => p.user = v,
                "password" => p.password = v,
                "dbname" => p.dbname = v,
                "sslmode" => p.sslmode = Some(v),
                other => {
                    return Err(bad(format!(
                        "parameter {other:?} cannot be passed to Postfix and Dovecot (supported: host, port, user, password, dbname, sslmode)"
                    )))
                }
            }
        }
        if p.dbname.is_empty() {
            return Err(bad("needs a database name (postgres://host/DBNAME)".into()));
        }
        for v in [&p.host, &p.user, &p.password, &p.dbname] {
            check_value("database_url", v)?;
        }
        if let Some(s) = &p.sslmode {
            check_value("database_url", s)?;
        }
        Ok(p)
    }

    /// The hosts the mail programs query: `lookup_hosts`, else `host`.
    pub fn hosts(&self) -> Vec<&str> {
        if self.lookup_hosts.is_empty() {
            vec![self.host.as_str()]
        } else {
            self.lookup_hosts.iter().map(String::as_str).collect()
        }
    }

    /// One entry of Postfix's `hosts =`. The inet:/unix: forms carry no TLS
    /// options; the URI form hands everything to libpq.
    fn postfix_host(&self, host: &str) -> String {
        if self.sslmode.is_some() || host.starts_with('/') {
            PgParams {
                host: host.to_string(),
                lookup_hosts: Vec::new(),
                ..self.clone()
            }
            .uri()
        } else if host.contains(':') {
            format!("inet:[{host}]:{}", self.port)
        } else {
            format!("inet:{host}:{}", self.port)
        }
    }

    /// A libpq conninfo string (`host=.. port=..`), values quoted as libpq
    /// wants, for Dovecot's pgsql driver. Several `host=`s: Dovecot opens
    /// connections to each and spreads queries over them, moving away from
    /// one that fails (its sqlpool); the other parameters apply to all.
    pub fn conninfo(&self) -> String {
        let mut parts: Vec<String> = self
            .hosts()
            .iter()
            .map(|h| format!("host={}", conninfo_quote(h)))
            .collect();
        parts.extend([
            format!("port={}", self.port),
            format!("dbname={}", conninfo_quote(&self.dbname)),
            format!("user={}", conninfo_quote(&self.user)),
        ]);
        if !self.password.is_empty() {
            parts.push(format!("password={}", conninfo_quote(&self.password)));
        }
        if let Some(s) = &self.sslmode {
            parts.push(format!("sslmode={}", conninfo_quote(s)));
        }
        parts.join(" ")
    }

    /// A URI with every parameter in the query string, so no part needs
    /// escaping beyond percent-encoding.
    pub fn uri(&self) -> String {
        let mut q = vec![
            format!("host={}", percent_encode(&self.host)),
            format!("port={}", self.port),
            format!("user={}", percent_encode(&self.user)),
        ];
        if !self.password.is_empty() {
            q.push(format!("password={}", percent_encode(&self.password)));
        }
        if let Some(s) = &self.sslmode {
            q.push(format!("sslmode={}", percent_encode(s)));
        }
        format!(
            "postgresql:///{}?{}",
            percent_encode(&self.dbname),
            q.join("&")
        )
    }
}

fn split_host_port(hp: &str) -> Result<(String, Option<u16>), String> {
    let num = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("port {s:?} is not a number"))
    };
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the host".to_string())?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(num(p)?),
            None => None,
        };
        return Ok((h.to_string(), port));
    }
    match hp.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), Some(num(p)?))),
        None => Ok((hp.to_string(), None)),
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape at position {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes are not UTF-8".to_string())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn conninfo_quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\') {
        return v.to_string();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_libpq_parameters() {
        let p = PgParams::parse("postgres://pm:s%20ecr'et@db.example:6543/mail").unwrap();
        assert_eq!(
            (
                p.host.as_str(),
                p.port,
                p.user.as_str(),
                p.password.as_str()
            ),
            ("db.example", 6543, "pm", "s ecr'et")
        );
        assert_eq!(
            p.conninfo(),
            "host=db.example port=6543 dbname=mail user=pm password='s ecr\\'et'"
        );
        let p = PgParams::parse("postgresql://postgres@127.0.0.1/test").unwrap();
        assert_eq!(p.port, 5432);
        let p = PgParams::parse("postgres:///mail?host=/run/postgresql&sslmode=disable").unwrap();
        assert_eq!(p.host, "/run/postgresql");
        assert!(Target::Postgres(p)
            .postfix_header()
            .starts_with("hosts = postgresql:///mail?host=/run/postgresql&port=5432"));
        for bad in [
            "postgres://h",
            "postgres://h:x/db",
            "postgres://h/db?options=-c",
            "postgres://h/d%25b",
        ] {
            assert!(PgParams::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn lookup_hosts_name_every_host_in_both_files() {
        let pg = |u: &str| Target::Postgres(PgParams::parse(u).unwrap());
        let hosts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t = pg("postgres://mailread:pw@primary.example/mail")
            .with_lookup_hosts(&hosts(&["primary.example", "replica1:5432", "[fd00::2]"]))
            .unwrap();
        assert_eq!(
            t.postfix_header(),
            "hosts = inet:primary.example:5432 inet:replica1:5432 inet:[fd00::2]:5432\n\
             user = mailread\npassword = pw\ndbname = mail\n"
        );
        assert_eq!(
            t.dovecot_connect(),
            "host=primary.example host=replica1 host=fd00::2 port=5432 dbname=mail user=mailread password=pw"
        );
        // TLS and sockets: one URI per host, each with every parameter
        let t = pg("postgres://u@db/mail?sslmode=verify-full")
            .with_lookup_hosts(&hosts(&["r1:6432", "r2:6432"]))
            .unwrap();
        assert!(
            t.postfix_header().starts_with(
                "hosts = postgresql:///mail?host=r1&port=6432&user=u&sslmode=verify-full \
                 postgresql:///mail?host=r2&port=6432&user=u&sslmode=verify-full\n"
            ),
            "{}",
            t.postfix_header()
        );
        assert!(t
            .dovecot_connect()
            .starts_with("host=r1 host=r2 port=6432 "));
        // none configured: the URL's host alone, as before
        let t = pg("postgres://u@db:5433/mail")
            .with_lookup_hosts(&[])
            .unwrap();
        assert!(t.postfix_header().starts_with("hosts = inet:db:5433\n"));
        assert!(t.dovecot_connect().starts_with("host=db port=5433 dbname"));

        for (bad, why) in [
            (vec!["a:5432", "b:5433"], "same port"),
            (vec!["a", "a"], "twice"),
            (vec!["a b"], "without blanks"),
            (vec!["a,b"], "without blanks"),
            (vec![""], "without blanks"),
            (vec!["fd00::2"], "brackets"),
            (vec!["a:x"], "not a number"),
        ] {
            let e = pg("postgres://u@db/mail")
                .with_lookup_hosts(&hosts(&bad))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("mail.lookup_hosts:") && e.contains(why),
                "{bad:?}: {e}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pm.db");
        std::fs::write(&f, "").unwrap();
        let e = Target::Sqlite(f)
            .with_lookup_hosts(&hosts(&["r1"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PostgreSQL only"), "{e}");
    }
}
