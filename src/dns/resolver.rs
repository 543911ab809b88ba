//! The resolver `domain check` asks: the system's (/etc/resolv.conf) or
//! the servers in `[dns] nameservers`, through hickory-resolver. Every
//! query has the configured deadline twice over: hickory's own per-try
//! timeout (one try per server), and a tokio timeout around the whole
//! lookup in case a server pool keeps a query alive longer. Either way the
//! answer is `Failure::Timeout`, which the check reports as "resolver
//! timeout".

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::config::DnsSettings;
use crate::error::{OpError, OpResult};

/// The records of one type found at a name, and their smallest TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<T> {
    pub records: Vec<T>,
    pub ttl: Option<u32>,
}

/// Why a lookup gave no records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The name does not exist, or has no record of the type.
    #[error("not found")]
    NotFound,
    /// No answer within the deadline: the words the check reports.
    #[error("resolver timeout after {0}")]
    Timeout(String),
    #[error("lookup failed: {0}")]
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    pub preference: u16,
    pub exchange: String,
}

impl std::fmt::Display for Mx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.preference, self.exchange)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

impl std::fmt::Display for Srv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.priority, self.weight, self.port, self.target
        )
    }
}

pub struct Resolver {
    inner: TokioResolver,
    deadline: Duration,
    /// "127.0.0.1:5353" or "the system resolver", for messages.
    servers: String,
    timeout_ms: u64,
}

/// `[dns] nameservers` as socket addresses; None for the system resolver.
fn explicit_servers(s: &DnsSettings) -> OpResult<Option<Vec<SocketAddr>>> {
    if s.nameservers.is_empty() || s.nameservers.iter().any(|n| n == "system") {
        return Ok(None);
    }
    s.nameservers
        .iter()
        .map(|n| {
            n.parse::<SocketAddr>().map_err(|_| {
                OpError::invalid(
                    "dns.nameservers",
                    format!("{n:?} is not IP:port (or use [\"system\"] alone)"),
                )
            })
        })
        .collect::<OpResult<Vec<_>>>()
        .map(Some)
}

fn build_error(e: NetError) -> OpError {
    OpError::Io(format!("DNS resolver: {e}"))
}

impl Resolver {
    /// Needs a tokio runtime (`run` provides one).
    pub fn new(s: &DnsSettings) -> OpResult<Resolver> {
        let timeout = Duration::from_millis(s.timeout_ms);
        let servers = explicit_servers(s)?;
        let (builder, count, label) = match &servers {
            Some(addrs) => {
                let ns = addrs
                    .iter()
                    .map(|a| {
                        let mut c = NameServerConfig::udp_and_tcp(a.ip());
                        for conn in &mut c.connections {
                            conn.port = a.port();
                        }
                        c
                    })
                    .collect();
                let builder = TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(ns),
                    TokioRuntimeProvider::default(),
                );
                let label = addrs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                (builder, addrs.len(), label)
            }
            None => {
                let b = TokioResolver::builder_tokio().map_err(build_error)?;
                (b, 1, "the system resolver".to_string())
            }
        };
        let mut builder = builder;
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.use_hosts_file = ResolveHosts::Never;
        let inner = builder.build().map_err(build_error)?;
        let servers_n = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
        Ok(Resolver {
            inner,
            // One try per server, plus a little for the last one's reply.
            deadline: timeout * servers_n + Duration::from_millis(250),
            servers: label,
            timeout_ms: s.timeout_ms,
        })
    }

    fn timeout(&self) -> Failure {
        Failure::Timeout(format!("{} ms ({})", self.timeout_ms, self.servers))
    }

    async fn lookup(&self, name: &str, rtype: RecordType) -> Result<Lookup, Failure> {
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        match tokio::time::timeout(self.deadline, self.inner.lookup(fqdn.as_str(), rtype)).await {
            Err(_) => Err(self.timeout()),
            Ok(Ok(l)) => Ok(l),
            Ok(Err(e)) if e.is_no_records_found() => Err(Failure::NotFound),
            Ok(Err(NetError::Timeout)) => Err(self.timeout()),
            Ok(Err(e)) => Err(Failure::Other(e.to_string())),
        }
    }

    /// The records of one type in a lookup's answers (a CNAME chain's own
    /// records are left out), with their smallest TTL.
    async fn records<T>(
        &self,
        name: &str,
        rtype: RecordType,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> Result<Answer<T>, Failure> {
        let l = self.lookup(name, rtype).await?;
        let mut out = Answer {
            records: Vec::new(),
            ttl: None,
        };
        for r in l.answers() {
            if let Some(v) = pick(&r.data) {
                out.records.push(v);
                out.ttl = Some(out.ttl.map_or(r.ttl, |t| t.min(r.ttl)));
            }
        }
        if out.records.is_empty() {
            return Err(Failure::NotFound);
        }
        Ok(out)
    }

    /// TXT records, each one's character strings joined.
    pub async fn txt(&self, name: &str) -> Result<Answer<String>, Failure> {
        self.records(name, RecordType::TXT, |d| match d {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            _ => None,
        })
        .await
    }

    pub async fn mx(&self, name: &str) -> Result<Answer<Mx>, Failure> {
        self.records(name, RecordType::MX, |d| match d {
            RData::MX(m) => Some(Mx {
                preference: m.preference,
                exchange: m.exchange.to_ascii(),
            }),
            _ => None,
        })
        .await
    }

    pub async fn srv(&self, name: &str) -> Result<Answer<Srv>, Failure> {
        self.records(name, RecordType::SRV, |d| match d {
            RData::SRV(s) => Some(Srv {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: s.target.to_ascii(),
            }),
            _ => None,
        })
        .await
    }

    pub async fn cname(&self, name: &str) -> Result<Answer<String>, Failure> {
        self.records(name, RecordType::CNAME, |d| match d {
            RData::CNAME(c) => Some(c.0.to_ascii()),
            _ => None,
        })
        .await
    }

    /// A and AAAA together; NotFound only when neither exists.
    pub async fn ips(&self, name: &str) -> Result<Answer<IpAddr>, Failure> {
        let (v4, v6) = futures::join!(
            self.records(name, RecordType::A, |d| match d {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                _ => None,
            }),
            self.records(name, RecordType::AAAA, |d| match d {
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
        );
        match (v4, v6) {
            (Ok(mut a), Ok(b)) => {
                a.records.extend(b.records);
                a.ttl = a.ttl.min(b.ttl).or(a.ttl).or(b.ttl);
                Ok(a)
            }
            (Ok(a), Err(Failure::NotFound)) | (Err(Failure::NotFound), Ok(a)) => Ok(a),
            (Err(Failure::NotFound), Err(f)) | (Err(f), _) => Err(f),
            (Ok(_), Err(f)) => Err(f),
        }
    }

    pub async fn ptr(&self, ip: IpAddr) -> Result<Answer<String>, Failure> {
        let name = super::expected::reverse_name(ip);
        self.records(&name, RecordType::PTR, |d| match d {
            RData::PTR(p) => Some(p.0.to_ascii()),
            _ => None,
        })
        .await
    }
}

/// Run `fut` on a runtime of its own: the CLI has none, and the TUI's
/// slow-I/O lane is a plain thread.
pub fn run<T>(fut: impl Future<Output = T>) -> OpResult<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OpError::Io(format!("starting the DNS runtime: {e}")))?;
    Ok(rt.block_on(fut))
}
