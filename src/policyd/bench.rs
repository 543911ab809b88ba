//! `policyd bench`: a load generator speaking the policy protocol. Each
//! connection sends a message's RCPT then its END-OF-MESSAGE, as Postfix
//! would, for one of `senders` accounts, and times every answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub connections: usize,
    pub seconds: f64,
    pub decisions: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub refused: u64,
    pub errors: u64,
    /// Answers the service gave without the database (in-process runs only).
    pub fail_open: Option<u64>,
}

struct One {
    lat_us: Vec<u32>,
    refused: u64,
    errors: u64,
}

fn request(sender: &str, state: &str, instance: &str) -> String {
    format!(
        "request=smtpd_access_policy\nprotocol_state={state}\nprotocol_name=ESMTP\nclient_address=127.0.0.1\nclient_name=localhost\nhelo_name=bench\nsender={sender}\nrecipient=rcpt@example.net\nrecipient_count=0\nqueue_id=\ninstance={instance}\nsize=0\nsasl_method=PLAIN\nsasl_username={sender}\n\n"
    )
}

async fn one_connection(addr: SocketAddr, id: usize, senders: usize, until: Instant) -> One {
    let mut out = One {
        lat_us: Vec::with_capacity(100_000),
        refused: 0,
        errors: 0,
    };
    let Ok(s) = TcpStream::connect(addr).await else {
        out.errors += 1;
        return out;
    };
    let _ = s.set_nodelay(true);
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let sender = format!("bench{}@bench.invalid", (id * 7919 + n) % senders.max(1));
        let instance = format!("{id}.{n}");
        for state in ["RCPT", "END-OF-MESSAGE"] {
            let t0 = Instant::now();
            if w.write_all(request(&sender, state, &instance).as_bytes())
                .await
                .is_err()
            {
                out.errors += 1;
                return out;
            }
            let mut action = String::new();
            loop {
                line.clear();
                let read =
                    tokio::time::timeout(Duration::from_secs(5), r.read_line(&mut line)).await;
                match read {
                    Ok(Ok(k)) if k > 0 => {}
                    _ => {
                        out.errors += 1;
                        return out;
                    }
                }
                if line.trim().is_empty() {
                    break;
                }
                action = line.trim().to_string();
            }
            let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
            out.lat_us.push(us);
            if action != "action=DUNNO" {
                out.refused += 1;
            }
        }
    }
    out
}

/// Drive `connections` connections against `addr` for `seconds`.
pub fn run(
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    senders: usize,
) -> Result<BenchReport, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(seconds);
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|i| tokio::spawn(one_connection(addr, i, senders, until)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            if let Ok(o) = t.await {
                all.push(o);
            }
        }
        all
    });
    let secs = t0.elapsed().as_secs_f64();
    let mut lat: Vec<u32> = results
        .iter()
        .flat_map(|o| o.lat_us.iter().copied())
        .collect();
    lat.sort_unstable();
    let pct = |permille: usize| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = (lat.len() - 1) * permille / 1000;
        f64::from(lat[i.min(lat.len() - 1)]) / 1000.0
    };
    let decisions = lat.len() as u64;
    Ok(BenchReport {
        connections,
        seconds: secs,
        decisions,
        per_second: decisions as f64 / secs.max(1e-9),
        p50_ms: pct(500),
        p99_ms: pct(990),
        max_ms: pct(1000),
        refused: results.iter().map(|o| o.refused).sum(),
        errors: results.iter().map(|o| o.errors).sum(),
        fail_open: None,
    })
}
