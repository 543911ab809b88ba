//! `postfix-manager policyd ...`: the policy service (issue 21;
//! docs/policy-service.md).

use clap::Subcommand;

use super::args::Cli;
use super::{start_args, CliError};
use crate::env::Env;
use crate::error::OpError;
use crate::policyd::engine::Config;
use crate::policyd::settings::{parse_listen, Listen};
use crate::policyd::{bench, server};

#[derive(Debug, Subcommand)]
pub enum PolicydCommand {
    /// Run the service (Postfix: check_policy_service); stops on SIGTERM/SIGINT
    Run {
        /// Listen here instead of [policyd] listen (IP:port or unix:/path)
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// This host's name in `health` and in audit rows (default: the hostname)
        #[arg(long)]
        host: Option<String>,
    },
    /// The [policyd] settings in force (defaults for every mailbox without its own or its domain's limits)
    Defaults,
    /// Busiest senders of the current hour or day, with their counts (the same as `stats senders`)
    Senders(super::stats::SendersArgs),
    /// Load test: decisions per second and latency with N concurrent connections (see docs/performance.md)
    Bench {
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Distinct sending accounts the requests cycle through
        #[arg(long, default_value_t = 1000)]
        senders: usize,
        /// Decisions per second in all, on a fixed schedule timed from when each was due (default: as fast as answered)
        #[arg(long)]
        rate: Option<u32>,
        /// A running service to measure; default: start one here on a free loopback port, on the configured database
        #[arg(long, value_name = "IP:PORT")]
        addr: Option<String>,
    },
}

/// The machine's name, for `policyd_status` and audit rows.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn config(env: &Env, host: Option<&str>) -> Config {
    Config {
        settings: env.config.policyd.clone(),
        url: env.url.clone(),
        seal: Some(env.audit.clone()),
        host: host.map_or_else(hostname, str::to_string),
    }
}

pub fn run(cli: &Cli, cmd: &PolicydCommand) -> Result<String, CliError> {
    let env = Env::load(&start_args(cli))?;
    match cmd {
        PolicydCommand::Defaults => Ok(super::output::object(&env.config.policyd, cli.json)),
        PolicydCommand::Run { listen, host } => {
            let l = match listen {
                Some(l) => parse_listen("listen", l),
                None => env.config.policyd.listen(),
            }
            .map_err(CliError::Usage)?;
            // The schema must be current: refuse early, not per request.
            drop(env.connect()?);
            let cfg = config(&env, host.as_deref());
            let r = server::spawn(cfg, l.clone(), true).map_err(OpError::Io)?;
            eprintln!("policyd: listening on {}", l.postfix());
            r.wait();
            eprintln!("policyd: stopped");
            Ok(String::new())
        }
        PolicydCommand::Senders(a) => {
            let mut conn = env.connect()?;
            let ctx = env.login(&mut conn)?;
            super::stats::senders(a, &env, &mut conn, &ctx, cli.json)
        }
        PolicydCommand::Bench {
            connections,
            seconds,
            senders,
            rate,
            addr,
        } => {
            if !(1..=10_000).contains(connections) || !(1..=3600).contains(seconds) {
                return Err(CliError::Usage(
                    "--connections must be 1-10000 and --seconds 1-3600".into(),
                ));
            }
            if rate.is_some_and(|r| !(1..=1_000_000).contains(&r)) {
                return Err(CliError::Usage(
                    "--rate must be 1-1000000 decisions a second".into(),
                ));
            }
            let (addr, running) = match addr {
                Some(a) => (
                    a.parse()
                        .map_err(|_| CliError::Usage(format!("--addr: not IP:port: {a:?}")))?,
                    None,
                ),
                None => {
                    drop(env.connect()?);
                    let l = Listen::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
                    let r = server::spawn(config(&env, Some("bench")), l, false)
                        .map_err(OpError::Io)?;
                    let a = r
                        .addr
                        .ok_or_else(|| OpError::Io("no address bound".into()))?;
                    // Measure decisions, not the start-up's fail-open answers.
                    let t0 = std::time::Instant::now();
                    while !r.engine.ready() && t0.elapsed() < std::time::Duration::from_secs(30) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    (a, Some(r))
                }
            };
            let mut rep =
                bench::run(addr, *connections, *seconds, *senders, *rate).map_err(OpError::Io)?;
            if let Some(r) = running {
                rep.fail_open = Some(
                    r.engine
                        .metrics
                        .fail_open
                        .load(std::sync::atomic::Ordering::Relaxed),
                );
                r.stop();
            }
            Ok(if cli.json {
                super::output::object(&rep, true)
            } else {
                let rate = rep
                    .rate
                    .map_or_else(|| "as fast as answered".into(), |r| format!("at {r}/s"));
                format!(
                    "{} connections {rate}, {:.1} s: {} decisions, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} refused, {} errors, fail-open {}\n",
                    rep.connections, rep.seconds, rep.decisions, rep.per_second, rep.p50_ms,
                    rep.p99_ms, rep.max_ms, rep.refused, rep.errors,
                    rep.fail_open.map_or_else(|| "n/a".into(), |n| n.to_string())
                )
            })
        }
    }
}
