//! `[policyd]`: the policy service's address, its patience with the
//! database, what it answers over a limit, the defaults every mailbox
//! inherits and the containment threshold (issue 21; docs/policy-service.md).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PolicydSettings {
    /// `IP:port` (Postfix: `check_policy_service inet:IP:port`) or
    /// `unix:/path` (Postfix: `check_policy_service unix:/path`).
    pub listen: String,
    /// Longest wait for the database on a request's path (a sender seen for
    /// the first time); past it the answer is DUNNO (fail open).
    pub db_timeout_ms: u64,
    /// What a request over a limit gets: "defer" (DEFER_IF_PERMIT 4.7.1,
    /// the client retries later) or "reject" (REJECT 5.7.1).
    pub action: String,
    /// How often local counts are added to the shared counters and the
    /// other hosts' counts read back: the coalescing window that bounds
    /// how far hosts sharing one database can overshoot a limit together.
    pub flush_ms: u64,
    /// How often limits and suspensions are read again.
    pub refresh_ms: u64,
    /// Defaults for every mailbox without its own or its domain's limit;
    /// 0 means no limit.
    pub per_hour: u32,
    pub per_day: u32,
    pub rcpt_per_msg: u32,
    pub rcpt_per_day: u32,
    /// Containment: refused recipients within one hour reaching this many
    /// times the sender's hourly message limit (or, without one, its
    /// recipients-per-message limit) suspend its sending. 0: never.
    pub abuse_factor: u32,
    /// Containment by spread: this many distinct recipient domains within
    /// ten minutes suspend the sender's sending (a phished account
    /// spamming the world, even under its message limits). 0: never.
    pub abuse_domains: u32,
    /// Largest request accepted, in bytes (Postfix's are well under 2 KiB).
    pub max_request_bytes: usize,
    /// Time a client has to finish a request once it started sending one.
    pub request_timeout_ms: u64,
    /// An idle connection is closed after this long (Postfix's own
    /// smtpd_policy_service_max_idle is 300 s; it reconnects when needed).
    pub idle_timeout_secs: u64,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// Optional loopback `IP:port` serving Prometheus metrics text; empty: off.
    pub metrics_listen: String,
}

impl Default for PolicydSettings {
    fn default() -> Self {
        PolicydSettings {
            listen: "127.0.0.1:10040".into(),
            db_timeout_ms: 200,
            action: "defer".into(),
            flush_ms: 100,
            refresh_ms: 5000,
            per_hour: 200,
            per_day: 1000,
            rcpt_per_msg: 50,
            rcpt_per_day: 2000,
            abuse_factor: 5,
            abuse_domains: 100,
            max_request_bytes: 16 * 1024,
            request_timeout_ms: 10_000,
            idle_timeout_secs: 310,
            max_connections: 4096,
            metrics_listen: String::new(),
        }
    }
}

/// Where the service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(std::net::SocketAddr),
    Unix(std::path::PathBuf),
}

impl Listen {
    /// The `check_policy_service` argument Postfix needs for this address.
    pub fn postfix(&self) -> String {
        match self {
            Listen::Tcp(a) => format!("inet:{a}"),
            Listen::Unix(p) => format!("unix:{}", p.display()),
        }
    }
}

impl PolicydSettings {
    pub fn listen(&self) -> Result<Listen, String> {
        parse_listen("policyd.listen", &self.listen)
    }

    /// Over a limit: REJECT, else DEFER_IF_PERMIT.
    pub fn rejects(&self) -> bool {
        self.action == "reject"
    }

    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        self.listen()?;
        if !["defer", "reject"].contains(&self.action.as_str()) {
            return Err(format!(
                "policyd.action must be defer or reject (got {:?})",
                self.action
            ));
        }
        let ranges: [(&str, u64, u64, u64); 5] = [
            ("policyd.db_timeout_ms", self.db_timeout_ms, 10, 60_000),
            ("policyd.flush_ms", self.flush_ms, 10, 60_000),
            ("policyd.refresh_ms", self.refresh_ms, 100, 3_600_000),
            (
                "policyd.request_timeout_ms",
                self.request_timeout_ms,
                100,
                600_000,
            ),
            (
                "policyd.idle_timeout_secs",
                self.idle_timeout_secs,
                1,
                86_400,
            ),
        ];
        for (field, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!("{field} must be between {lo} and {hi} (got {v})"));
            }
        }
        if !(512..=1 << 20).contains(&self.max_request_bytes) {
            return Err("policyd.max_request_bytes must be between 512 and 1048576".into());
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err("policyd.max_connections must be between 1 and 1000000".into());
        }
        if self.abuse_factor > 1000 {
            return Err("policyd.abuse_factor must be between 0 (off) and 1000".into());
        }
        if self.abuse_domains > 100_000 {
            return Err("policyd.abuse_domains must be between 0 (off) and 100000".into());
        }
        if !self.metrics_listen.is_empty() {
            match self.metrics_listen.parse::<std::net::SocketAddr>() {
                Ok(a) if a.ip().is_loopback() => {}
                _ => {
                    return Err(format!(
                        "policyd.metrics_listen must be a loopback IP:port such as 127.0.0.1:9140, or empty (got {:?})",
                        self.metrics_listen
                    ))
                }
            }
        }
        Ok(())
    }
}

pub fn parse_listen(field: &str, s: &str) -> Result<Listen, String> {
    if let Some(p) = s.strip_prefix("unix:") {
        if p.starts_with('/') && !p.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Ok(Listen::Unix(p.into()));
        }
        return Err(format!(
            "{field} must be IP:port or unix:/absolute/path (got {s:?})"
        ));
    }
    match s.parse::<std::net::SocketAddr>() {
        Ok(a) if a.port() != 0 => Ok(Listen::Tcp(a)),
        _ => Err(format!(
            "{field} must be IP:port (port 1-65535) or unix:/absolute/path (got {s:?})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_name_their_field() {
        assert!(PolicydSettings::default().check().is_ok());
        let bad = [
            PolicydSettings {
                listen: "localhost".into(),
                ..Default::default()
            },
            PolicydSettings {
                listen: "127.0.0.1:0".into(),
                ..Default::default()
            },
            PolicydSettings {
                action: "drop".into(),
                ..Default::default()
            },
            PolicydSettings {
                db_timeout_ms: 0,
                ..Default::default()
            },
            PolicydSettings {
                metrics_listen: "0.0.0.0:9140".into(),
                ..Default::default()
            },
            PolicydSettings {
                abuse_domains: 100_001,
                ..Default::default()
            },
        ];
        let fields = [
            "policyd.listen",
            "policyd.listen",
            "policyd.action",
            "policyd.db_timeout_ms",
            "policyd.metrics_listen",
            "policyd.abuse_domains",
        ];
        for (s, f) in bad.iter().zip(fields) {
            let e = s.check().unwrap_err();
            assert!(e.starts_with(f), "{e}");
        }
        assert_eq!(
            parse_listen("x", "unix:/run/pm.sock").unwrap().postfix(),
            "unix:/run/pm.sock"
        );
        assert_eq!(
            parse_listen("x", "127.0.0.1:10040").unwrap().postfix(),
            "inet:127.0.0.1:10040"
        );
    }
}
