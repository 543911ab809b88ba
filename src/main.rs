// As in lib.rs: no unwrap, no silently truncating cast.
#![deny(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use postfix_manager::cli::{self, args::Cli, output::json_safe};

fn main() -> ExitCode {
    let args = Cli::parse();
    let result = cli::run(&args);
    // A write whose audit checkpoint could not be written is saved; say so
    // (see ops::audit_seal).
    for w in postfix_manager::ops::audit_seal::take_warnings() {
        eprintln!("{}", postfix_manager::sanitize::for_terminal(&w));
    }
    match result {
        Ok(out) => {
            let out = if args.json {
                json_safe(&out)
            } else {
                out.into()
            };
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(cli::CliError::Report { out, code, message }) => {
            let out = if args.json {
                json_safe(&out)
            } else {
                out.into()
            };
            let _ = std::io::stdout().write_all(out.as_bytes());
            if !message.is_empty() {
                eprintln!(
                    "error: {}",
                    postfix_manager::sanitize::lines_for_terminal(&message)
                );
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
                postfix_manager::sanitize::lines_for_terminal(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}
