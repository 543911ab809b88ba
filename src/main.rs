// As in lib.rs: no unwrap, no silently truncating cast.
#![deny(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use postfix_manager::cli::{self, args::Cli, output::json_safe, CliError};
use postfix_manager::sanitize;

/// No subcommand: the TUI; otherwise the CLI. Both start in
/// `postfix_manager::env`.
fn main() -> ExitCode {
    install_panic_report();
    let args = Cli::parse();
    // Ok: what to print and the exit status.
    let result = match &args.command {
        None => postfix_manager::tui::run(&cli::start_args(&args))
            .map(|ended| (String::new(), ended.exit_code()))
            .map_err(CliError::from),
        Some(_) => cli::run(&args).map(|out| (out, 0)),
    };
    // A write whose audit checkpoint could not be written is saved; say so
    // (see ops::audit_seal).
    for w in postfix_manager::ops::audit_seal::take_warnings() {
        eprintln!("{}", sanitize::for_terminal(&w));
    }
    match result {
        Ok((out, code)) => {
            print_out(&args, &out);
            ExitCode::from(code)
        }
        Err(CliError::Report { out, code, message }) => {
            print_out(&args, &out);
            if !message.is_empty() {
                eprintln!("error: {}", sanitize::lines_for_terminal(&message));
            }
            ExitCode::from(code)
        }
        Err(e) => {
            if args.json {
                println!("{}", json_safe(&e.to_json().to_string()));
            }
            eprintln!(
                "error: {}",
                // An import's bad lines stay one per line.
                sanitize::lines_for_terminal(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}

/// A command's output on stdout (JSON made safe for terminals with --json).
fn print_out(args: &Cli, out: &str) {
    let out = if args.json {
        json_safe(out)
    } else {
        out.into()
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// A panic is a bug: color-eyre's report says what panicked and where (and
/// shows the backtrace under `RUST_BACKTRACE=1`) instead of the default
/// one-liner. Installed first, before the TUI starts: the TUI's
/// `terminal::Guard::enter` wraps whatever hook is installed with its
/// terminal restore (raw mode off, main screen, cursor shown, paste
/// brackets off), so the report prints on a terminal the shell can use
/// (tests/panic_report.rs). Errors are not panics: they keep their one
/// `error:` line and exit status (`CliError::exit_code`).
fn install_panic_report() {
    use color_eyre::config::{HookBuilder, Theme};
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::stderr().is_terminal();
    let hooks = HookBuilder::default()
        .theme(if plain { Theme::new() } else { Theme::dark() })
        .panic_section(
            "This is a bug in postfix-manager, not in your input or data; \
             please report it with the lines above.",
        )
        .try_into_hooks();
    // Without span traces (no `capture-spantrace`) building cannot fail;
    // if it did, Rust's own panic message is still printed.
    if let Ok((panic, eyre)) = hooks {
        let _ = eyre.install();
        panic.install();
    }
}
