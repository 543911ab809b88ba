//! Every subcommand explains itself in one line, and the completions and man
//! pages generated from the same clap tree cover every subcommand.

use std::process::Command;

use clap::CommandFactory;
use postfix_manager::cli::args::Cli;

fn walk<'a>(cmd: &'a clap::Command, path: String, out: &mut Vec<(String, &'a clap::Command)>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let p = format!("{path} {}", sub.get_name());
        out.push((p.clone(), sub));
        walk(sub, p, out);
    }
}

fn all_subcommands(cmd: &clap::Command) -> Vec<(String, &clap::Command)> {
    let mut out = Vec::new();
    walk(cmd, String::new(), &mut out);
    out
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_postfix-manager"))
}

#[test]
fn every_subcommand_has_a_one_line_help() {
    let cmd = Cli::command();
    let subs = all_subcommands(&cmd);
    assert!(subs.len() > 100, "only {} subcommands found", subs.len());
    let missing: Vec<&str> = subs
        .iter()
        .filter(|(_, c)| {
            c.get_about()
                .is_none_or(|a| a.to_string().trim().is_empty())
        })
        .map(|(p, _)| p.trim())
        .collect();
    assert!(missing.is_empty(), "subcommands without help: {missing:?}");
    // One line: the short help is what `postfix-manager ldap --help` lists.
    for (p, c) in &subs {
        let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
        assert!(!about.contains('\n'), "{p}: about spans lines: {about:?}");
    }
}

#[test]
fn ldap_help_lists_every_subcommand_with_its_line() {
    let out = bin().args(["ldap", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["list", "show", "edit", "delete"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{text}"));
        assert!(
            line.split_whitespace().count() > 2,
            "`ldap {name}` has no help text: {line:?}"
        );
    }
}

#[test]
fn completions_cover_every_top_level_command_for_each_shell() {
    let cmd = Cli::command();
    for shell in ["bash", "zsh", "fish"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in cmd.get_subcommands() {
            assert!(
                text.contains(sub.get_name()),
                "{shell} completion lacks {}",
                sub.get_name()
            );
        }
    }
    let bad = bin().args(["completions", "cmd.exe"]).output().unwrap();
    assert!(!bad.status.success());
}

#[test]
fn man_pages_one_per_subcommand_written_to_a_directory() {
    let cmd = Cli::command();
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    assert!(page.contains("postfix\\-manager"));

    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let subs = all_subcommands(&cmd);
    for (p, _) in &subs {
        let name = format!("postfix-manager{}.1", p.replace(' ', "-"));
        let f = dir.path().join(&name);
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".TH"), "{name}");
    }
    let written = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(written, subs.len() + 1);
    // stdout names what was written, for packaging scripts.
    assert!(String::from_utf8_lossy(&out.stdout).contains("postfix-manager.1"));
}

#[test]
fn man_refuses_a_missing_directory_naming_it() {
    let out = bin()
        .args(["man", "--dir", "/nonexistent/man1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/man1"), "{err}");
}
