//! The listener: Postfix connections on TCP or a Unix socket, each served
//! by its own task, many requests per connection; at most
//! `max_connections` at once (more are closed at once, and Postfix
//! retries); the optional metrics port.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

use super::engine::{Config, ConnState, Engine};
use super::protocol::{read_request, reply, Bounds, End};
use super::settings::Listen;

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, std::path::PathBuf),
}

/// A service running on its own threads (tests, bench, `policyd run`).
pub struct Running {
    /// The TCP address bound (port 0 in `listen` picks a free one).
    pub addr: Option<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    pub engine: Arc<Engine>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stop accepting, close connections, flush the counters once more.
    pub fn stop(mut self) {
        self.halt();
    }

    /// Wait until the service ends (SIGTERM/SIGINT under `policyd run`).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn halt(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

fn bind_err(what: &str, e: std::io::Error) -> String {
    format!("cannot listen on {what}: {e}")
}

/// Start the service on `listen` (unchecked: tests pass port 0). With
/// `signals`, SIGTERM and SIGINT end it too.
pub fn spawn(cfg: Config, listen: Listen, signals: bool) -> Result<Running, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let (listener, addr) = rt.block_on(async {
        match &listen {
            Listen::Tcp(a) => {
                let l = TcpListener::bind(a)
                    .await
                    .map_err(|e| bind_err(&a.to_string(), e))?;
                let addr = l.local_addr().ok();
                Ok::<_, String>((Listener::Tcp(l), addr))
            }
            Listen::Unix(p) => {
                // A socket left by a previous run would make bind fail.
                if std::fs::symlink_metadata(p)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                {
                    let _ = std::fs::remove_file(p);
                }
                let l = UnixListener::bind(p).map_err(|e| bind_err(&p.display().to_string(), e))?;
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o660));
                Ok((Listener::Unix(l, p.clone()), None))
            }
        }
    })?;
    let metrics = cfg.settings.metrics_listen.trim().to_string();
    let metrics_listener = if metrics.is_empty() {
        None
    } else {
        Some(rt.block_on(async {
            TcpListener::bind(&metrics)
                .await
                .map_err(|e| bind_err(&metrics, e))
        })?)
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let engine = Engine::start(cfg);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let e = Arc::clone(&engine);
    let thread = std::thread::spawn(move || {
        let e2 = Arc::clone(&e);
        rt.block_on(async move {
            if let Some(m) = metrics_listener {
                tokio::spawn(serve_metrics(m, Arc::clone(&e)));
            }
            let accept = accept_loop(listener, Arc::clone(&e));
            let stop = async {
                if signals {
                    wait_signal(rx).await
                } else {
                    let _ = rx.await;
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = stop => {}
            }
        });
        e2.stop();
        rt.shutdown_timeout(Duration::from_secs(2));
    });
    Ok(Running {
        addr,
        metrics_addr,
        engine,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

async fn wait_signal(rx: tokio::sync::oneshot::Receiver<()>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = rx.await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = rx => {}
    }
}

async fn accept_loop(l: Listener, engine: Arc<Engine>) {
    let s = &engine.cfg().settings;
    let slots = Arc::new(Semaphore::new(s.max_connections));
    let bounds = Bounds {
        max_bytes: s.max_request_bytes,
        idle: Duration::from_secs(s.idle_timeout_secs),
        request: Duration::from_millis(s.request_timeout_ms),
    };
    loop {
        let conn: Box<dyn Stream> = match &l {
            Listener::Tcp(t) => match t.accept().await {
                Ok((c, _)) => {
                    let _ = c.set_nodelay(true);
                    Box::new(c)
                }
                Err(e) => {
                    accept_failed(&engine, e).await;
                    continue;
                }
            },
            Listener::Unix(u, _) => match u.accept().await {
                Ok((c, _)) => Box::new(c),
                Err(e) => {
                    accept_failed(&engine, e).await;
                    continue;
                }
            },
        };
        engine.metrics.connections.fetch_add(1, Ordering::Relaxed);
        // Over the limit: close at once (Postfix retries); never queue
        // unbounded work.
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            engine.log("too many connections: closing a new one");
            continue;
        };
        let e = Arc::clone(&engine);
        tokio::spawn(async move {
            serve(conn, &e, bounds).await;
            drop(permit);
        });
    }
}

/// Out of file descriptors and the like: say so and pause, rather than
/// spinning on a listener that fails at once.
async fn accept_failed(engine: &Engine, e: std::io::Error) {
    engine.log(&format!("accept failed: {e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One Postfix connection: requests until it closes, stalls, idles out or
/// misbehaves.
async fn serve(conn: Box<dyn Stream>, engine: &Engine, b: Bounds) {
    let (r, mut w) = tokio::io::split(conn);
    let mut r = BufReader::with_capacity(4096, r);
    let mut cs = ConnState::default();
    let mut line = Vec::with_capacity(256);
    loop {
        let req = match read_request(&mut r, b, &mut line).await {
            Ok(req) => req,
            Err(End::Closed | End::Idle) => return,
            Err(why) => {
                engine
                    .metrics
                    .bad_connections
                    .fetch_add(1, Ordering::Relaxed);
                engine.log(&format!("closing a connection: {why:?}"));
                return;
            }
        };
        let t0 = Instant::now();
        let action = engine.answer(&req, &mut cs).await;
        engine.metrics.observe(t0.elapsed());
        let out = reply(&action);
        match tokio::time::timeout(b.request, w.write_all(out.as_bytes())).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// `GET /metrics` on the loopback metrics port; anything else is 404.
async fn serve_metrics(l: TcpListener, engine: Arc<Engine>) {
    loop {
        let Ok((mut c, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let e = Arc::clone(&engine);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut n = 0;
            let read = async {
                while n < buf.len() {
                    match c.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .is_err()
            {
                return;
            }
            let head = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if head.starts_with("GET /metrics ") {
                ("200 OK", e.metrics.render())
            } else {
                ("404 Not Found", "not found; try /metrics\n".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ =
                tokio::time::timeout(Duration::from_secs(5), c.write_all(resp.as_bytes())).await;
        });
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}
