//! `demo seed`: the operation is `ops::demo::seed`; this adds the progress
//! line on stderr (stdout stays the result, for `--json`).

use std::io::Write;
use std::time::Instant;

use super::args::{Cli, DemoCommand};
use super::{output, CliError};
use crate::db::AnyConnection;
use crate::ops::demo::{self, Progress, SeedOptions};
use crate::ops::Ctx;

pub fn run(
    cli: &Cli,
    c: &DemoCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let DemoCommand::Seed(a) = c;
    let o = SeedOptions {
        domains: a.domains,
        mailboxes: a.mailboxes,
        aliases: a.aliases,
        audit: a.audit,
        force: a.yes,
    };
    let mut line = ProgressLine::new();
    let r = demo::seed(conn, ctx, &o, &mut |p| line.show(p));
    line.finish();
    let r = r?;
    Ok(if cli.json {
        output::object(&r, true)
    } else {
        format!(
            "seeded {} domains, {} mailboxes, {} aliases, {} audit rows in {:.1} s\n",
            r.domains, r.mailboxes, r.aliases, r.audit, r.seconds
        )
    })
}

/// One self-overwriting stderr line: phase, count, rate, ETA of the phase.
/// Redrawn at most every 200 ms so printing never slows the seed down.
struct ProgressLine {
    phase: &'static str,
    phase_start: Instant,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    fn new() -> Self {
        ProgressLine {
            phase: "",
            phase_start: Instant::now(),
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: Progress) {
        if p.phase != self.phase {
            self.phase = p.phase;
            self.phase_start = Instant::now();
            if self.drawn {
                eprintln!();
            }
        }
        let due = self
            .last
            .is_none_or(|t| t.elapsed().as_millis() >= 200 || p.done == p.total);
        if !due {
            return;
        }
        self.last = Some(Instant::now());
        let secs = self.phase_start.elapsed().as_secs_f64().max(1e-3);
        let rate = p.done as f64 / secs;
        let eta = if rate > 0.0 {
            (p.total.saturating_sub(p.done)) as f64 / rate
        } else {
            0.0
        };
        let pct = (100 * p.done).checked_div(p.total).unwrap_or(100);
        eprint!(
            "\r{:<9} {:>11}/{:<11} {:>3}%  {:>9.0} rows/s  ETA {:>5.0} s ",
            p.phase, p.done, p.total, pct, rate, eta
        );
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}
