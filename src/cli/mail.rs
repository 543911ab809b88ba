//! `mail generate`, `mail config ...` and `quota sync`: thin calls into
//! `ops` with the disk work from `crate::mail`.

use serde_json::json;

use super::args::{ApplyArgs, Cli, MailCommand, MailConfigCommand, QuotaCommand};
use super::output::object;
use super::CliError;
use crate::db::models::MailServerConfig;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::mail::configs::{self, ApplyOptions};
use crate::mail::{generate, quota};
use crate::ops::{self, Ctx};
use crate::sanitize::for_terminal;

pub fn run_mail(
    cli: &Cli,
    cmd: &MailCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let j = cli.json;
    match cmd {
        MailCommand::Generate { out, lookup_url } => {
            let lookup = lookup_url
                .as_deref()
                .or(Some(env.config.mail.database_url.as_str()));
            let target = generate::lookup_target(&env.url, lookup)?
                .with_lookup_hosts(&env.config.mail.lookup_hosts)?;
            let g =
                ops::mail_configs::generate_files(conn, ctx, &out.display().to_string(), || {
                    generate::generate_with(&target, &env.config.mail, &env.config.policyd, out)
                })?;
            // Mailboxes stored before the login-character rule exist in
            // Postfix's maps but cannot log in to Dovecot: say which.
            let (n, some) = crate::store::mailboxes::login_refused(conn, 10)
                .map_err(crate::error::OpError::from)?;
            if n > 0 {
                eprintln!(
                    "warning: {n} mailbox(es) have a local part Dovecot refuses at login \
                     (auth_username_chars allows letters, digits and {}): {}{}; \
                     recreate them under a valid name",
                    crate::validate::MAILBOX_LOCAL_SPECIALS,
                    for_terminal(&some.join(", ")),
                    if n > some.len() as i64 { ", …" } else { "" }
                );
            }
            let dkim = dkim_sets(env, conn, ctx, &g.dir)?;
            let dir = for_terminal(&g.dir.display().to_string());
            // Vacation replies need lines the generated files cannot carry
            // (the LMTP plugin list is the admin's): say so every time.
            let text = format!(
                "wrote {} files for {} into {dir}; see {dir}/README.md\n\
                 vacation replies (mailbox vacation): install dovecot-sieve, then `!include {dir}/dovecot-sieve.conf` and \
                 `protocol lmtp {{ mail_plugins = $mail_plugins sieve }}` in dovecot.conf (README, \"Vacation replies\")\n",
                g.files.len(),
                g.backend,
            );
            dkim_said(j, &g, &dkim, text)
        }
        MailCommand::Config(c) => config(c, env, conn, ctx, j),
    }
}

/// The DKIM signer sets `[dkim] signers` names, each swapped into its
/// directory whole, when any key exists (a host without DKIM gets none).
fn dkim_sets(
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    mail_dir: &std::path::Path,
) -> Result<Vec<ops::dkim::Exported>, CliError> {
    let cfg = &env.config.dkim;
    if cfg.signers.is_empty() || !ops::dkim::has_keys(conn)? {
        return Ok(Vec::new());
    }
    let beside = mail_dir.parent().unwrap_or(std::path::Path::new("/"));
    let mut out = Vec::new();
    for name in &cfg.signers {
        let (signer, dir) = match name.as_str() {
            "rspamd" => (ops::dkim::Signer::Rspamd, &cfg.rspamd_dir),
            _ => (ops::dkim::Signer::Opendkim, &cfg.opendkim_dir),
        };
        let dir = match dir.as_str() {
            "" => beside.join(name),
            d => std::path::PathBuf::from(d),
        };
        let opts = ops::dkim::ExportOptions::from_config(cfg, signer)?;
        out.push(ops::dkim::export_with(
            conn,
            ctx,
            &env.key_file,
            signer,
            &dir,
            &opts,
        )?);
    }
    Ok(out)
}

/// `mail generate`'s answer with the DKIM sets; a failed signer reload
/// exits 1 with the report still printed.
fn dkim_said(
    j: bool,
    g: &generate::Generated,
    dkim: &[ops::dkim::Exported],
    mut text: String,
) -> Result<String, CliError> {
    for e in dkim {
        text.push_str(&format!(
            "wrote DKIM signer files into {} (signing: {})\n",
            for_terminal(&e.dir),
            for_terminal(&e.signing.join(", "))
        ));
        if let Some(r) = &e.reload {
            text.push_str(&for_terminal(&match &r.error {
                None => format!("reloaded: {}", r.command),
                Some(err) => format!("reload FAILED: {err}"),
            }));
            text.push('\n');
        }
    }
    let out = if j {
        let mut v = serde_json::to_value(g).unwrap_or_default();
        if !dkim.is_empty() {
            v["dkim"] = serde_json::to_value(dkim).unwrap_or_default();
        }
        object(&v, true)
    } else {
        text
    };
    match dkim
        .iter()
        .find_map(|e| e.reload.as_ref().filter(|r| !r.ok))
    {
        Some(r) => Err(CliError::Report {
            out,
            code: 1,
            message: format!(
                "the files were written but the DKIM signer reload failed: {}",
                r.error.as_deref().unwrap_or("")
            ),
        }),
        None => Ok(out),
    }
}

fn meta(r: &MailServerConfig) -> String {
    format!(
        "{:>5}  {:<8} v{:<4} {:<6} {}  {}",
        r.id,
        for_terminal(&r.service_name),
        r.version,
        if r.is_active { "active" } else { "" },
        r.updated_at.format("%Y-%m-%d %H:%M:%S"),
        for_terminal(&r.config_file),
    )
}

fn config(
    c: &MailConfigCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        MailConfigCommand::Import { file, service } => import(file, service, conn, ctx, j)?,
        MailConfigCommand::List {
            service,
            file,
            limit,
        } => {
            let rows =
                ops::mail_configs::list(conn, ctx, service.as_deref(), file.as_deref(), *limit)?;
            if j {
                let slim: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({ "id": r.id, "service_name": r.service_name, "config_file": r.config_file,
                        "version": r.version, "is_active": r.is_active, "backup_file": r.backup_file,
                        "updated_at": r.updated_at, "updated_by": r.updated_by })
                    })
                    .collect();
                return Ok(object(&slim, true));
            }
            let mut out = String::from("   ID  SERVICE  VERSION      UPDATED              FILE\n");
            for r in &rows {
                out.push_str(&meta(r));
                out.push('\n');
            }
            out
        }
        MailConfigCommand::Show { id } => {
            let r = ops::mail_configs::get(conn, ctx, *id)?;
            if j {
                return Ok(object(&r, true));
            }
            let mut out = meta(&r);
            out.push('\n');
            if let Some(b) = &r.backup_file {
                out.push_str(&format!("backup: {}\n", for_terminal(b)));
            }
            out.push('\n');
            out.push_str(&configs::terminal_lines(&r.config_data));
            out
        }
        MailConfigCommand::Diff {
            id,
            against_disk: _,
            against,
        } => diff(*id, *against, conn, ctx, j)?,
        MailConfigCommand::Edit { id } => edit(*id, conn, ctx, j)?,
        MailConfigCommand::Rollback { id, how } => {
            let (after, applied, backup) =
                ops::mail_configs::rollback(conn, ctx, *id, |r, active| {
                    configs::write_to_disk(r, active, &apply_options(env, how, &r.service_name))
                })?;
            if j {
                return Ok(object(
                    &json!({ "config": after, "applied": applied, "from_backup": backup }),
                    true,
                ));
            }
            let mut out = format!(
                "rolled {} back to the backup {} (now version {}, id {})\n",
                for_terminal(&after.config_file),
                for_terminal(&backup),
                after.version,
                after.id
            );
            for s in &applied.steps {
                out.push_str(&format!("  {}\n", for_terminal(s)));
            }
            out
        }
        MailConfigCommand::Apply { id, how } => {
            let (row, applied) = ops::mail_configs::apply(conn, ctx, *id, |row, active| {
                configs::write_to_disk(row, active, &apply_options(env, how, &row.service_name))
            })?;
            if j {
                return Ok(object(&json!({ "config": row, "applied": applied }), true));
            }
            let mut out = format!(
                "applied {} version {} (id {})\n",
                for_terminal(&row.config_file),
                row.version,
                row.id
            );
            for s in &applied.steps {
                out.push_str(&format!("  {}\n", for_terminal(s)));
            }
            out
        }
    })
}

/// `mail config import`: the file and, for dovecot, its includes.
fn import(
    file: &std::path::Path,
    service: &str,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let service = ops::mail_configs::check_service("service", service)?;
    let files = configs::read_with_includes(&service, file)?;
    let done = ops::mail_configs::import(conn, ctx, &service, &files)?;
    if j {
        return Ok(object(&done, true));
    }
    let mut out = String::new();
    for i in &done {
        out.push_str(&format!(
            "{} {} version {} (id {})\n",
            if i.new_version {
                "imported"
            } else {
                "unchanged"
            },
            for_terminal(&i.config_file),
            i.version,
            i.id
        ));
    }
    Ok(out)
}

/// `mail config diff`: version ID against another version or the file on disk.
fn diff(
    id: i32,
    against: Option<i32>,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let new = ops::mail_configs::get(conn, ctx, id)?;
    let (label, old) = match against {
        Some(other) => {
            let o = ops::mail_configs::get(conn, ctx, other)?;
            (
                format!("{} (id {}, v{})", o.config_file, o.id, o.version),
                o.config_data,
            )
        }
        None => match std::fs::read(&new.config_file) {
            Ok(b) => (
                format!("{} (on disk)", new.config_file),
                String::from_utf8_lossy(&b).into_owned(),
            ),
            // Not there yet: every line is new, and the label says so
            // rather than calling an empty text "on disk".
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (format!("{} (not on disk)", new.config_file), String::new())
            }
            Err(e) => return Err(ops_io(format!("{}: {e}", new.config_file))),
        },
    };
    let d = configs::unified_diff(
        &label,
        &old,
        &format!("{} (id {}, v{})", new.config_file, new.id, new.version),
        &new.config_data,
    );
    if j {
        return Ok(object(
            &json!({ "identical": d.is_empty(), "diff": d }),
            true,
        ));
    }
    Ok(if d.is_empty() {
        "no differences\n".to_string()
    } else {
        d
    })
}

/// `mail config edit`: version ID in $EDITOR, stored as a new version if changed.
fn edit(id: i32, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    let r = ops::mail_configs::get(conn, ctx, id)?;
    let name = std::path::Path::new(&r.config_file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let edited = configs::edit_in_editor(&r.config_data, &name)?;
    if edited == r.config_data {
        return Ok(if j {
            object(&json!({ "changed": false }), true)
        } else {
            "no change; nothing stored\n".to_string()
        });
    }
    let row = ops::mail_configs::edit(conn, ctx, id, &edited)?;
    if j {
        return Ok(object(&row, true));
    }
    Ok(format!(
        "stored {} version {} (id {}); apply it with `mail config apply {}`\n",
        for_terminal(&row.config_file),
        row.version,
        row.id,
        row.id
    ))
}

/// The apply options for one file: the service's staged check from the
/// config unless the command line says otherwise.
fn apply_options(env: &Env, how: &ApplyArgs, service: &str) -> ApplyOptions {
    let default_stage = match service {
        "postfix" => env.config.mail.postfix_stage_check.clone(),
        _ => env.config.mail.dovecot_stage_check.clone(),
    };
    ApplyOptions {
        check: how.check.clone(),
        reload: how.reload.clone(),
        force: how.force,
        backup_dir: how.backup_dir.clone(),
        stage_check: if how.no_stage_check {
            None
        } else {
            Some(how.stage_check.clone().unwrap_or(default_stage))
        },
    }
}

fn ops_io(msg: String) -> CliError {
    CliError::Op(crate::error::OpError::Io(msg))
}

pub fn run_quota(
    cli: &Cli,
    cmd: &QuotaCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    match cmd {
        QuotaCommand::Sync { command } => {
            let command = command
                .clone()
                .unwrap_or_else(|| env.config.mail.quota_command.clone());
            let output = quota::run_command(&command)?;
            let s = ops::quota::sync_from_output(conn, ctx, &output, &command)?;
            // Every sync is also a history sample, so a host that only runs
            // `quota sync` from cron still gets sparklines.
            ops::quota::sample(conn, ctx, env.config.quota.history_days)?;
            if cli.json {
                return Ok(object(&s, true));
            }
            let mut out = format!(
                "quota sync: {} reported, {} updated, {} unchanged, {} unknown; {} in use\n",
                crate::plural::count(s.reported, "mailbox", "mailboxes"),
                s.updated,
                s.unchanged,
                s.unknown,
                crate::units::human(s.total_bytes)
            );
            if !s.unknown_names.is_empty() {
                out.push_str(&format!(
                    "  not in the database: {}\n",
                    for_terminal(&s.unknown_names.join(", "))
                ));
            }
            Ok(out)
        }
        QuotaCommand::Sample => {
            let s = ops::quota::sample(conn, ctx, env.config.quota.history_days)?;
            if cli.json {
                return Ok(object(&s, true));
            }
            Ok(format!(
                "quota sample at {}: {} and {} changed since the last sample; {} pruned\n",
                s.taken_at,
                crate::plural::s(s.domains, "domain"),
                crate::plural::count(s.mailboxes, "mailbox", "mailboxes"),
                crate::plural::s(s.pruned, "old sample")
            ))
        }
        QuotaCommand::Check { warn, crit } => {
            let warn = warn.unwrap_or(env.config.quota.warn_percent);
            let crit = crit.unwrap_or(env.config.quota.crit_percent);
            let r = ops::quota::check(conn, ctx, warn, crit)?;
            let out = if cli.json {
                object(&r, true)
            } else {
                // Nagios plugin output: the first line is the summary.
                let mut t = format!(
                    "QUOTA {}: {} critical (>= {}%), {} warning (>= {}%)\n",
                    r.status, r.critical, r.crit_percent, r.warning, r.warn_percent
                );
                for f in &r.rows {
                    t.push_str(&format!(
                        "  {:<8} {:<7} {} {:.1}% ({} of {})\n",
                        f.level.to_uppercase(),
                        f.kind,
                        f.name,
                        f.percent,
                        crate::units::human(f.used),
                        crate::units::human_limit(f.limit)
                    ));
                }
                if r.truncated {
                    t.push_str(&format!(
                        "  (only the {} fullest of each kind are listed)\n",
                        ops::quota::CHECK_LIMIT
                    ));
                }
                t
            };
            match r.exit_code() {
                0 => Ok(out),
                code => Err(CliError::Report {
                    out,
                    code,
                    message: String::new(),
                }),
            }
        }
    }
}
