//! Shell completions and man pages, generated from the same clap tree that
//! parses the command line, so they cannot drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::Cli;
use super::CliError;

const BIN: &str = "postfix-manager";

pub fn completions(shell: clap_complete::Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The top-level page on stdout, or every page into `dir` (one per
/// subcommand, named as `man` finds them: postfix-manager-domain-add.1).
pub fn man(dir: Option<&Path>) -> Result<String, CliError> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        return render(&cmd).map_err(|e| io_error("the man page", &e));
    };
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "man --dir {}: not an existing directory",
            dir.display()
        )));
    }
    let mut pages = Vec::new();
    collect(&cmd, BIN.to_string(), &mut pages);
    let mut written = String::new();
    for (name, page_cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let text = render(&page_cmd).map_err(|e| io_error(&name, &e))?;
        write_page(dir, &path, &text)?;
        written.push_str(&format!("{}\n", path.display()));
    }
    Ok(written)
}

fn collect(cmd: &clap::Command, name: String, out: &mut Vec<(String, clap::Command)>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        collect(sub, format!("{name}-{}", sub.get_name()), out);
    }
    // Each page is titled with its full command, as `man` looks it up.
    out.push((name.clone(), cmd.clone().name(name)));
}

fn render(cmd: &clap::Command) -> std::io::Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Whole pages only: a page is written beside its final name and renamed.
fn write_page(dir: &Path, path: &PathBuf, text: &str) -> Result<(), CliError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".postfix-manager-man-")
        .tempfile_in(dir)
        .map_err(|e| io_error(&dir.display().to_string(), &e))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| io_error(&path.display().to_string(), &e))?;
    tmp.persist(path)
        .map_err(|e| io_error(&path.display().to_string(), &e.error))?;
    Ok(())
}

fn io_error(what: &str, e: &std::io::Error) -> CliError {
    CliError::Usage(format!("cannot write {what}: {e}"))
}
