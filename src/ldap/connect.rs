//! Opening a connection within a deadline. The name is resolved and the TCP
//! connection made here rather than inside ldap3, so "not resolved",
//! "refused" and "timed out" come back as distinct answers; ldap3 then runs
//! StartTLS or the LDAPS handshake on the connected socket, and any failure
//! at that stage is a TLS failure.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions, StdStream};

use super::error::LdapFailure;
use super::{ms, ServerSettings, TlsMode};
use crate::secrets::SecretString;

const RC_SIZE_LIMIT: u32 = 4;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_INVALID_CREDENTIALS: u32 = 49;

/// An open connection and the time it has left.
pub struct Session {
    conn: LdapConn,
    started: Instant,
    deadline: Instant,
}

fn left(deadline: Instant, started: Instant, stage: &str) -> Result<Duration, LdapFailure> {
    let now = Instant::now();
    if now >= deadline {
        return Err(LdapFailure::Timeout {
            stage: stage.to_string(),
            after_ms: ms(now - started),
        });
    }
    Ok(deadline - now)
}

/// getaddrinfo has no timeout of its own, so it runs on a helper thread that
/// is abandoned if the deadline passes first.
fn resolve(
    s: &ServerSettings,
    started: Instant,
    deadline: Instant,
) -> Result<Vec<SocketAddr>, LdapFailure> {
    let wait = left(deadline, started, "resolving the host name")?;
    let (tx, rx) = mpsc::channel();
    let target = (s.host.clone(), s.port);
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
    });
    match rx.recv_timeout(wait) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(LdapFailure::NameNotResolved {
            host: s.host.clone(),
            detail: "no addresses".into(),
        }),
        Ok(Err(e)) => Err(LdapFailure::NameNotResolved {
            host: s.host.clone(),
            detail: super::error::clean(&e.to_string()),
        }),
        Err(_) => Err(LdapFailure::Timeout {
            stage: "resolving the host name".into(),
            after_ms: ms(started.elapsed()),
        }),
    }
}

fn tcp(s: &ServerSettings, started: Instant, deadline: Instant) -> Result<TcpStream, LdapFailure> {
    let addrs = resolve(s, started, deadline)?;
    let mut last = None;
    for addr in addrs {
        let wait = left(deadline, started, "connecting")?;
        match TcpStream::connect_timeout(&addr, wait) {
            Ok(stream) => {
                // LDAP is request/response in small writes; Nagle plus
                // delayed ACKs would add ~40 ms to every TLS exchange.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some((addr, e)) = last else {
        return Err(LdapFailure::NameNotResolved {
            host: s.host.clone(),
            detail: "no addresses".into(),
        });
    };
    Err(match e.kind() {
        std::io::ErrorKind::ConnectionRefused => LdapFailure::ConnectionRefused {
            addr: addr.to_string(),
        },
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => LdapFailure::Timeout {
            stage: format!("connecting to {addr}"),
            after_ms: ms(started.elapsed()),
        },
        _ => LdapFailure::Unreachable {
            addr: addr.to_string(),
            detail: super::error::clean(&e.to_string()),
        },
    })
}

/// A rustls config trusting exactly the certificates in the CA file.
fn tls_config(path: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, LdapFailure> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let fail = |detail: String| LdapFailure::CaFile {
        path: path.display().to_string(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots
            .add(c)
            .map_err(|e| fail(format!("certificate refused: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(LdapFailure::tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Check a CA file the way a connection would use it (for validation at
/// add/edit time).
pub fn check_ca_file(path: &std::path::Path) -> Result<(), LdapFailure> {
    tls_config(path).map(|_| ())
}

fn classify(e: LdapError, stage: &str, started: Instant) -> LdapFailure {
    match e {
        LdapError::Timeout { .. } => LdapFailure::Timeout {
            stage: stage.to_string(),
            after_ms: ms(started.elapsed()),
        },
        LdapError::LdapResult { result } => LdapFailure::server(result.rc, &result.text),
        other => LdapFailure::protocol(other),
    }
}

impl Session {
    /// Connect and, for StartTLS and LDAPS, finish the TLS handshake, all
    /// before `deadline`.
    pub fn open(s: &ServerSettings, deadline: Instant) -> Result<Session, LdapFailure> {
        let started = Instant::now();
        let stream = tcp(s, started, deadline)?;
        let stage = match s.tls {
            TlsMode::None => "opening the LDAP session",
            TlsMode::StartTls => "StartTLS negotiation",
            TlsMode::Ldaps => "the LDAPS handshake",
        };
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(left(deadline, started, stage)?)
            .set_std_stream(StdStream::Tcp(stream))
            .set_starttls(s.tls == TlsMode::StartTls);
        if s.tls != TlsMode::None {
            // Without a CA file, ldap3 trusts the system's root store.
            if let Some(ca) = &s.ca_file {
                settings = settings.set_config(tls_config(ca)?);
            }
        }
        let conn = LdapConn::with_settings(settings, &s.url()).map_err(|e| match e {
            LdapError::Timeout { .. } => LdapFailure::Timeout {
                stage: stage.to_string(),
                after_ms: ms(started.elapsed()),
            },
            other if s.tls != TlsMode::None => LdapFailure::tls(tls_detail(&other)),
            other => LdapFailure::protocol(other),
        })?;
        Ok(Session {
            conn,
            started,
            deadline,
        })
    }

    fn left(&self, stage: &str) -> Result<Duration, LdapFailure> {
        left(self.deadline, self.started, stage)
    }

    /// Simple bind. An empty password is refused here: RFC 4513 makes it an
    /// unauthenticated bind, which many servers accept as success.
    pub fn bind(&mut self, dn: &str, pw: &SecretString) -> Result<(), LdapFailure> {
        if pw.is_empty() {
            return Err(LdapFailure::EmptyPassword);
        }
        let wait = self.left("binding")?;
        let res = self
            .conn
            .with_timeout(wait)
            .simple_bind(dn, pw.expose())
            .map_err(|e| classify(e, "binding", self.started))?;
        match res.rc {
            0 => Ok(()),
            RC_INVALID_CREDENTIALS => Err(LdapFailure::BadCredentials {
                dn: super::error::clean(dn),
            }),
            rc => Err(LdapFailure::server(rc, &res.text)),
        }
    }

    /// Subtree search returning at most `limit` entries; the flag says
    /// whether more were available.
    pub fn search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        limit: usize,
    ) -> Result<(Vec<SearchEntry>, bool), LdapFailure> {
        let wait = self.left("searching")?;
        let size = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let res = self
            .conn
            .with_search_options(SearchOptions::new().sizelimit(size))
            .with_timeout(wait)
            .search(base, Scope::Subtree, filter, attrs.to_vec())
            .map_err(|e| classify(e, "searching", self.started))?;
        let ldap3::SearchResult(raw, result) = res;
        match result.rc {
            0 | RC_SIZE_LIMIT => {}
            RC_NO_SUCH_OBJECT => {
                return Err(LdapFailure::NoSuchBase {
                    dn: super::error::clean(base),
                })
            }
            rc => return Err(LdapFailure::server(rc, &result.text)),
        }
        let mut entries: Vec<SearchEntry> = raw
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect();
        let more = entries.len() > limit || result.rc == RC_SIZE_LIMIT;
        entries.truncate(limit);
        Ok((entries, more))
    }

    /// Close politely; errors do not matter any more.
    pub fn close(mut self) {
        let _ = self.conn.unbind();
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The rustls reason is the useful part ("invalid peer certificate:
/// UnknownIssuer"); ldap3 wraps it in an I/O error.
fn tls_detail(e: &LdapError) -> String {
    match e {
        LdapError::Io { source } => match source.get_ref() {
            Some(inner) => inner.to_string(),
            None => source.to_string(),
        },
        other => other.to_string(),
    }
}
