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
                // Postfix's inet:/unix: forms carry no TLS options; the URI
                // form hands everything to libpq.
                let hosts = if pg.sslmode.is_some() || pg.host.starts_with('/') {
                    pg.uri()
                } else if pg.host.contains(':') {
                    format!("inet:[{}]:{}", pg.host, pg.port)
                } else {
                    format!("inet:{}:{}", pg.host, pg.port)
                };
                format!(
                    "hosts = {hosts}\nuser = {}\npassword = {}\ndbname = {}\n",
                    pg.user, pg.password, pg.dbname
                )
            }
        }
    }

    /// Dovecot's `connect =` value.
    pub fn dovecot_connect(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(pg) => pg.conninfo(),
        }
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

    /// A libpq conninfo string (`host=.. port=..`), values quoted as libpq
    /// wants, for Dovecot's pgsql driver.
    pub fn conninfo(&self) -> String {
        let mut parts = vec![
            format!("host={}", conninfo_quote(&self.host)),
            format!("port={}", self.port),
            format!("dbname={}", conninfo_quote(&self.dbname)),
            format!("user={}", conninfo_quote(&self.user)),
        ];
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
}
