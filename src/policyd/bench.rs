//! `policyd bench`: a load generator speaking the policy protocol. Each
//! connection sends a message's RCPT then its END-OF-MESSAGE, as Postfix
//! would, for one of `senders` accounts, and times every answer.
//!
//! Without a rate each connection sends its next request as soon as the
//! answer arrives (a closed loop): the figure is the most the service can
//! answer, and the latency is mostly queueing behind the other 63
//! connections (Little's law: 64 in flight at 35,000/s is 1.8 ms each).
//! With `--rate` the connections share a fixed schedule of messages (an
//! open loop, as Postfix's traffic is) and each answer is timed from when
//! its message was due, not from when it was sent, so a late answer also
//! delays the clock of the ones queued behind it (no coordinated omission).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub connections: usize,
    /// Decisions per second asked for (`--rate`); none: as fast as answered.
    pub rate: Option<u32>,
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

/// When each of a connection's messages is due: every `every` from `first`.
#[derive(Clone, Copy)]
struct Pace {
    first: Instant,
    every: Duration,
}

async fn one_connection(
    addr: SocketAddr,
    id: usize,
    senders: usize,
    until: Instant,
    pace: Option<Pace>,
) -> One {
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
        let due = pace.map(|p| p.first + p.every * u32::try_from(n).unwrap_or(u32::MAX));
        if let Some(due) = due {
            if due >= until {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        n += 1;
        let sender = format!("bench{}@bench.invalid", (id * 7919 + n) % senders.max(1));
        let instance = format!("{id}.{n}");
        for (k, state) in ["RCPT", "END-OF-MESSAGE"].into_iter().enumerate() {
            // The RCPT is timed from when its message was due; the
            // END-OF-MESSAGE follows its answer at once, as in Postfix.
            let t0 = match due {
                Some(d) if k == 0 => d,
                _ => Instant::now(),
            };
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

/// Drive `connections` connections against `addr` for `seconds`, as fast
/// as answered or at `rate` decisions per second in all.
pub fn run(
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    senders: usize,
    rate: Option<u32>,
) -> Result<BenchReport, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(seconds);
    // Two decisions a message; each connection takes every n-th message
    // of the schedule, offset so that the connections do not send at once.
    let conns = u32::try_from(connections).unwrap_or(u32::MAX).max(1);
    let paces: Vec<Option<Pace>> = (0..conns)
        .map(|i| {
            rate.filter(|r| *r > 0).map(|r| {
                let message = Duration::from_secs_f64(2.0 / f64::from(r));
                Pace {
                    first: t0 + message * i,
                    every: message * conns,
                }
            })
        })
        .collect();
    let results = rt.block_on(async {
        let tasks: Vec<_> = paces
            .into_iter()
            .enumerate()
            .map(|(i, pace)| tokio::spawn(one_connection(addr, i, senders, until, pace)))
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
        rate,
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
