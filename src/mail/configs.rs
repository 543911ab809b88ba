//! The disk side of managed config files: reading a file with its Dovecot
//! `!include`s, unified diffs, editing in $EDITOR, and applying a stored
//! version (backup, atomic replace, check, reload, roll back on failure).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::atomic;
use crate::db::models::MailServerConfig;
use crate::error::{OpError, OpResult};
use crate::ops::mail_configs::{Applied, MAX_CONFIG_BYTES};
use crate::sanitize::for_terminal;

/// Dovecot allows nesting; a cycle or a runaway tree stops here.
const MAX_FILES: usize = 200;

fn io_err(path: &Path, e: impl std::fmt::Display) -> OpError {
    OpError::Io(format!("{}: {e}", path.display()))
}

fn read_text(path: &Path) -> OpResult<String> {
    if path.is_dir() {
        return Err(OpError::invalid(
            "file",
            format!("{} is a directory; name a config file", path.display()),
        ));
    }
    // In words against the field ("directory /x does not exist"), not the
    // raw OS error.
    let bytes = std::fs::read(path).map_err(|e| {
        OpError::invalid(
            "file",
            crate::paths::explain(path, crate::paths::Doing::Reading, &e),
        )
    })?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(OpError::invalid(
            "file",
            format!("{} is larger than {MAX_CONFIG_BYTES} bytes", path.display()),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| OpError::invalid("file", format!("{} is not UTF-8 text", path.display())))
}

/// `path` and, for Dovecot, every file it `!include`s (recursively, globs in
/// the last path component expanded, `!include_try` of a missing file
/// skipped), each once, in the order first met.
pub fn read_with_includes(service: &str, path: &Path) -> OpResult<Vec<(String, String)>> {
    let path = &crate::paths::expand_tilde(&path.to_string_lossy());
    let root = std::path::absolute(path).map_err(|e| io_err(path, e))?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = vec![(root, false)];
    while let Some((p, optional)) = queue.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        if out.len() >= MAX_FILES {
            return Err(OpError::invalid(
                "file",
                format!("more than {MAX_FILES} included files; is there a loop?"),
            ));
        }
        if optional && !p.exists() {
            continue;
        }
        let text = read_text(&p)?;
        if service == "dovecot" {
            let dir = p.parent().unwrap_or(Path::new("/")).to_path_buf();
            let mut found = Vec::new();
            for (target, optional) in dovecot_includes(&text) {
                for inc in expand(&dir, &target)? {
                    found.push((inc, optional));
                }
            }
            // Reversed onto the stack so files are visited in reading order.
            queue.extend(found.into_iter().rev());
        }
        out.push((p.display().to_string(), text));
    }
    Ok(out)
}

/// (target, optional) of each `!include` / `!include_try` line.
fn dovecot_includes(text: &str) -> Vec<(String, bool)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (rest, optional) = if let Some(r) = l.strip_prefix("!include_try") {
                (r, true)
            } else {
                (l.strip_prefix("!include")?, false)
            };
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let t = rest.trim().trim_matches('"');
            (!t.is_empty()).then(|| (t.to_string(), optional))
        })
        .collect()
}

/// Resolve an include target against the including file's directory; a
/// `*`/`?` pattern in the file name matches files in that directory, sorted
/// as Dovecot reads them.
fn expand(dir: &Path, target: &str) -> OpResult<Vec<PathBuf>> {
    let full = if target.starts_with('/') {
        PathBuf::from(target)
    } else {
        dir.join(target)
    };
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![full]);
    }
    let parent = full.parent().unwrap_or(Path::new("/"));
    let mut hits: Vec<PathBuf> = match std::fs::read_dir(parent) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err(parent, e)),
    };
    hits.sort();
    Ok(hits)
}

fn wildcard(pat: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

/// A unified diff, every line stripped of control characters so a file
/// cannot repaint the admin's terminal. Empty when the texts are equal.
pub fn unified_diff(old_label: &str, old: &str, new_label: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string();
    terminal_lines(&text)
}

/// Multi-line text for a terminal: each line cleaned, line breaks kept.
pub fn terminal_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&for_terminal(line));
        out.push('\n');
    }
    out
}

/// Let the admin edit `text` in $VISUAL/$EDITOR (default vi); returns the
/// result. The temp file is private (0600): configs hold secrets.
pub fn edit_in_editor(text: &str, name_hint: &str) -> OpResult<String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_string());
    let dir = tempfile::Builder::new()
        .prefix("postfix-manager-edit")
        .tempdir()
        .map_err(|e| OpError::Io(format!("temp dir: {e}")))?;
    let safe: String = name_hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.path().join(safe);
    atomic::replace_file(&path, text.as_bytes(), 0o600).map_err(|e| io_err(&path, e))?;
    // `sh -c` so EDITOR may carry arguments ("code -w"); the path is passed
    // as $1, never spliced into the command text.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .map_err(|e| OpError::Io(format!("cannot run editor {editor:?}: {e}")))?;
    if !status.success() {
        return Err(OpError::invalid(
            "editor",
            format!("{editor:?} exited with {status}; nothing was saved"),
        ));
    }
    read_text(&path)
}

/// How `apply` treats the file on disk.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Validation run after the new file is in place (`sh -c`, with
    /// PM_CONFIG_FILE set): e.g. `postfix check` or `doveconf -n`. It fails
    /// on a non-zero exit or a "warning:"/"error:"/"fatal:" on stderr.
    pub check: Option<String>,
    /// Run after a passing check, e.g. `postfix reload`; failure rolls back.
    pub reload: Option<String>,
    /// Overwrite even when the disk no longer holds the active version.
    pub force: bool,
    /// Where backups go; default: beside the file.
    pub backup_dir: Option<PathBuf>,
    /// Validation of a staged copy, run before anything on disk changes
    /// (`sh -c` with PM_STAGE_FILE and PM_STAGE_DIR set); None skips it.
    pub stage_check: Option<String>,
}

/// Check the new contents without touching the live file: Postfix reads a
/// directory (`postconf -c DIR`), so main.cf and master.cf are staged
/// together in a private directory beside the file; Dovecot reads a file,
/// staged beside the real one so relative `!include`s resolve the same.
fn stage_check(row: &MailServerConfig, cmd: &str) -> Result<(), String> {
    let path = PathBuf::from(&row.config_file);
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let stage_dir = dir.join(format!(".pm-stage-{}", std::process::id()));
    let stage_file = dir.join(format!(".{name}.pm-stage-{}", std::process::id()));
    let result = (|| -> Result<(), String> {
        std::fs::create_dir(&stage_dir)
            .map_err(|e| format!("staging in {}: {e}", dir.display()))?;
        for sibling in ["main.cf", "master.cf"] {
            let from = dir.join(sibling);
            if sibling != name && from.exists() {
                std::fs::copy(&from, stage_dir.join(sibling))
                    .map_err(|e| format!("staging {sibling}: {e}"))?;
            }
        }
        std::fs::write(stage_dir.join(&name), &row.config_data)
            .map_err(|e| format!("staging {name}: {e}"))?;
        std::fs::write(&stage_file, &row.config_data)
            .map_err(|e| format!("staging {name}: {e}"))?;
        run_hook(
            "the staged copy's check",
            cmd,
            &[("PM_STAGE_FILE", &stage_file), ("PM_STAGE_DIR", &stage_dir)],
        )?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&stage_dir);
    let _ = std::fs::remove_file(&stage_file);
    result
}

/// How long a check or reload may run. `apply` runs them inside its write
/// transaction (so a failure rolls the database back with the file), which
/// holds the write lock every other writer waits for, at most 30 s
/// (`db::SQLITE_BUSY_TIMEOUT_MS`); a hung `postfix reload` must not hold it
/// longer than that.
pub const HOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// Run a check or reload command (`sh -c`) with `envs` set. It fails on a
/// non-zero exit, a "warning:"/"error:"/"fatal:" line on stderr, or running
/// longer than `timeout` (then its whole process group is killed).
fn run_hook(what: &str, cmd: &str, envs: &[(&str, &Path)]) -> Result<(), String> {
    run_hook_within(what, cmd, envs, HOOK_TIMEOUT)
}

pub(crate) fn run_hook_within(
    what: &str,
    cmd: &str,
    envs: &[(&str, &Path)],
    timeout: std::time::Duration,
) -> Result<(), String> {
    run_hook_io(what, cmd, envs, timeout, None, true)
}

/// `run_hook_within` with `stdin` read from a file, and with
/// `complaints_fail` false judging by the exit status alone (for commands
/// such as `doveadm` that log "Error:" for a case the command line then
/// accepts, e.g. deleting a script that is already gone).
pub(crate) fn run_hook_io(
    what: &str,
    cmd: &str,
    envs: &[(&str, &Path)],
    timeout: std::time::Duration,
    stdin: Option<&Path>,
    complaints_fail: bool,
) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let input = match stdin {
        Some(p) => std::process::Stdio::from(
            std::fs::File::open(p).map_err(|e| format!("{what}: {}: {e}", p.display()))?,
        ),
        None => std::process::Stdio::null(),
    };
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .stdin(input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // Its own group, so a timeout kills what the shell started too.
        .process_group(0);
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what} {cmd:?} could not run: {e}"))?;
    // Drain stderr on a thread so a chatty command cannot block on a full
    // pipe while we wait; the answer comes over a channel because a daemon
    // the command started may keep the pipe open long after it exits.
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut p) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(None) => {
                let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                return Err(format!(
                    "{what} {cmd:?} did not finish within {} s and was stopped",
                    timeout.as_secs()
                ));
            }
            Err(e) => return Err(format!("{what} {cmd:?}: {e}")),
        }
    };
    let stderr_bytes = rx
        .recv_timeout(std::time::Duration::from_secs(1))
        .unwrap_or_default();
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: stderr_bytes,
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaint = stderr.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("warning:") || l.contains("error:") || l.contains("fatal:")
    });
    if !out.status.success() || (complaints_fail && complaint.is_some()) {
        let detail = complaint
            .map(str::to_string)
            .unwrap_or_else(|| stderr.lines().last().unwrap_or("").to_string());
        return Err(format!(
            "{what} {cmd:?} failed ({}): {}",
            out.status,
            for_terminal(detail.trim())
        ));
    }
    Ok(())
}

/// The disk side of `ops::mail_configs::apply`: refuse when the file changed
/// since the active version, back it up, replace it atomically, check and
/// reload, and put the backup back if either fails.
pub fn write_to_disk(
    row: &MailServerConfig,
    active: Option<&MailServerConfig>,
    opts: &ApplyOptions,
) -> OpResult<Applied> {
    let path = PathBuf::from(&row.config_file);
    let mut applied = Applied::default();
    let current = match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&path, e)),
    };
    if !opts.force {
        let expected = active.map(|a| a.config_data.as_bytes());
        if current.as_deref() != expected {
            let since = active
                .map(|a| {
                    format!(
                        "version {} (id {}) was imported or applied",
                        a.version, a.id
                    )
                })
                .unwrap_or_else(|| "nothing was imported".to_string());
            return Err(OpError::Conflict(format!(
                "{} changed on disk since {since}; import it again (`mail config import`) to see the change, or pass --force",
                path.display()
            )));
        }
    }
    if let Some(cmd) = opts.stage_check.as_deref().filter(|c| !c.trim().is_empty()) {
        stage_check(row, cmd).map_err(|why| {
            OpError::invalid(
                "config_data",
                format!("{why}; the live file was not touched"),
            )
        })?;
        applied.steps.push(format!("staged copy passed: {cmd}"));
    }
    let backup = match &current {
        Some(old) => {
            let b = backup_path(&path, opts.backup_dir.as_deref());
            atomic::replace_file(&b, old, 0o600).map_err(|e| io_err(&b, e))?;
            applied.steps.push(format!("backup {}", b.display()));
            applied.backup_file = Some(b.display().to_string());
            Some((b, old.clone()))
        }
        None => None,
    };
    atomic::replace_file(&path, row.config_data.as_bytes(), 0o644).map_err(|e| io_err(&path, e))?;
    applied
        .steps
        .push(format!("wrote {} version {}", path.display(), row.version));
    let hooks = [("check", &opts.check), ("reload", &opts.reload)];
    for (what, cmd) in hooks {
        let Some(cmd) = cmd else { continue };
        if let Err(why) = run_hook(what, cmd, &[("PM_CONFIG_FILE", &path)]) {
            let restored = match &backup {
                Some((b, old)) => atomic::replace_file(&path, old, 0o644)
                    .map(|_| format!("restored {} from {}", path.display(), b.display())),
                None => std::fs::remove_file(&path)
                    .map(|_| format!("removed {} (it did not exist before)", path.display())),
            }
            .map_err(|e| io_err(&path, format!("{why}; ROLLBACK FAILED: {e}")))?;
            return Err(OpError::invalid(
                what,
                format!("{why}; {restored}; nothing was applied"),
            ));
        }
        applied.steps.push(format!("{what} passed: {cmd}"));
    }
    Ok(applied)
}

fn backup_path(file: &Path, dir: Option<&Path>) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| file.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/"));
    dir.join(format!("{name}.pm-backup-{stamp}"))
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn a_bad_path_is_said_in_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        // What the prefilled form made of a typed path: the prefill and the
        // path run together.
        let glued = dir.path().join("main.cf/etc/postfix/main.cf");
        let e = read_with_includes("postfix", &glued).expect_err("missing");
        let said = e.to_string();
        assert!(
            said.contains(&format!(
                "directory {} does not exist",
                glued.parent().expect("parent").display()
            )),
            "{said}"
        );
        assert!(!said.contains("os error"), "{said}");
        assert_eq!(e.field(), Some("file"));
        let e = read_with_includes("postfix", dir.path()).expect_err("a directory");
        assert!(e.to_string().contains("is a directory"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_that_hangs_is_stopped_with_everything_it_started() {
        let t = tempfile::tempdir().unwrap();
        let marker = t.path().join("survived");
        // The shell starts a child that would write the marker after 2 s;
        // killing the process group must take the child down too.
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let started = std::time::Instant::now();
        let e = run_hook_within("reload", &cmd, &[], std::time::Duration::from_millis(300))
            .unwrap_err();
        assert!(e.contains("did not finish within"), "{e}");
        // Stopped, not waited for: the command alone would take 30 s.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(2500));
        assert!(!marker.exists(), "a child of the hook outlived it");
    }

    #[test]
    fn a_daemon_keeping_the_pipe_open_does_not_hold_the_hook() {
        // Like a reload that starts a daemon inheriting stderr.
        let started = std::time::Instant::now();
        run_hook_within("reload", "sleep 6 >&2 & exit 0", &[], HOOK_TIMEOUT).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_hook_that_finishes_reports_its_complaints() {
        run_hook_within("check", "echo fine", &[], HOOK_TIMEOUT).unwrap();
        let e = run_hook_within("check", "echo 'fatal: bad' >&2", &[], HOOK_TIMEOUT).unwrap_err();
        assert!(e.contains("fatal: bad"), "{e}");
        let e = run_hook_within("check", "exit 3", &[], HOOK_TIMEOUT).unwrap_err();
        assert!(e.contains("exit status: 3"), "{e}");
    }

    #[test]
    fn includes_are_followed_once_in_order() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir(d.join("conf.d")).unwrap();
        std::fs::write(
            d.join("dovecot.conf"),
            "!include conf.d/*.conf\n!include_try /nonexistent/x.conf\n!include dovecot.conf\n",
        )
        .unwrap();
        std::fs::write(d.join("conf.d/10-auth.conf"), "!include ../extra.ext\n").unwrap();
        std::fs::write(d.join("conf.d/20-x.conf"), "a = b\n").unwrap();
        std::fs::write(d.join("conf.d/skip.txt"), "no\n").unwrap();
        std::fs::write(d.join("extra.ext"), "c = d\n").unwrap();
        let files = read_with_includes("dovecot", &d.join("dovecot.conf")).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|(p, _)| p.trim_start_matches(&d.display().to_string()).to_string())
            .collect();
        assert_eq!(
            names,
            [
                "/dovecot.conf",
                "/conf.d/10-auth.conf",
                "/conf.d/../extra.ext",
                "/conf.d/20-x.conf"
            ]
        );
        assert_eq!(
            read_with_includes("postfix", &d.join("dovecot.conf"))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn diff_is_unified_and_clean() {
        let d = unified_diff("a", "x = 1\ny = 2\n", "b", "x = 1\ny = \x1b[2J3\n");
        assert!(d.contains("--- a\n+++ b\n"), "{d}");
        assert!(d.contains("-y = 2\n+y = [2J3\n"), "{d}");
        assert_eq!(unified_diff("a", "same\n", "b", "same\n"), "");
    }
}
