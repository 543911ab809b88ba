//! `mail generate`: the Postfix map files, Dovecot SQL config and
//! instructions, rendered from the templates in `assets/mail` for the
//! configured backend and written as one directory.

use std::path::{Path, PathBuf};

use super::atomic;
use super::target::Target;
use crate::config::MailConfig;
use crate::db::DbUrl;
use crate::error::{OpError, OpResult};
use crate::policyd::settings::PolicydSettings;

/// Generated files are readable by the mail servers' group, never by all:
/// they hold the database credentials.
pub const FILE_MODE: u32 = 0o640;

/// (file name, template). Postfix `.cf` templates get the connection header.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "virtual_mailbox_domains.cf",
        include_str!("../../assets/mail/virtual_mailbox_domains.cf"),
    ),
    (
        "virtual_mailbox_maps.cf",
        include_str!("../../assets/mail/virtual_mailbox_maps.cf"),
    ),
    (
        "virtual_alias_maps.cf",
        include_str!("../../assets/mail/virtual_alias_maps.cf"),
    ),
    (
        "virtual_alias_domain_maps.cf",
        include_str!("../../assets/mail/virtual_alias_domain_maps.cf"),
    ),
    (
        "virtual_alias_domain_catchall_maps.cf",
        include_str!("../../assets/mail/virtual_alias_domain_catchall_maps.cf"),
    ),
    (
        "sender_login_maps.cf",
        include_str!("../../assets/mail/sender_login_maps.cf"),
    ),
    (
        "transport_maps.cf",
        include_str!("../../assets/mail/transport_maps.cf"),
    ),
    (
        "recipient_access.cf",
        include_str!("../../assets/mail/recipient_access.cf"),
    ),
    (
        "dovecot-sql.conf.ext",
        include_str!("../../assets/mail/dovecot-sql.conf.ext"),
    ),
    (
        "dovecot-postfix-manager.conf",
        include_str!("../../assets/mail/dovecot-postfix-manager.conf"),
    ),
    (
        "dovecot-sieve.conf",
        include_str!("../../assets/mail/dovecot-sieve.conf"),
    ),
    (
        "dovecot-quota-status.conf",
        include_str!("../../assets/mail/dovecot-quota-status.conf"),
    ),
    (
        "postfix-manager-quota-sync.service",
        include_str!("../../assets/mail/postfix-manager-quota-sync.service"),
    ),
    (
        "postfix-manager-quota-sync.timer",
        include_str!("../../assets/mail/postfix-manager-quota-sync.timer"),
    ),
    (
        "postfix-manager-purge.service",
        include_str!("../../assets/mail/postfix-manager-purge.service"),
    ),
    (
        "postfix-manager-purge.timer",
        include_str!("../../assets/mail/postfix-manager-purge.timer"),
    ),
    (
        "postfix-manager-policyd.service",
        include_str!("../../assets/mail/postfix-manager-policyd.service"),
    ),
    ("README.md", include_str!("../../assets/mail/README.md")),
];

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    pub dir: PathBuf,
    pub backend: &'static str,
    pub files: Vec<String>,
}

/// Replace `{{name}}` placeholders; a placeholder left over is a bug in a
/// template, reported rather than shipped.
fn render(name: &str, template: &str, vars: &[(&str, String)]) -> OpResult<String> {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    if let Some(i) = out.find("{{") {
        let end = out[i..].find("}}").map(|e| i + e + 2).unwrap_or(out.len());
        return Err(OpError::Io(format!(
            "template {name} has an unknown placeholder {}",
            &out[i..end]
        )));
    }
    Ok(out)
}

fn check_path_setting(field: &str, v: &str) -> OpResult<()> {
    if !v.starts_with('/')
        || v.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '%' | '\'' | '\\'))
    {
        return Err(OpError::invalid(
            field,
            format!(
                "must be an absolute path without spaces, quotes, backslashes or '%' (got {v:?})"
            ),
        ));
    }
    Ok(())
}

/// The files for `target`, naming `dir` as where they live, with the
/// default `[policyd]`.
pub fn render_all(
    target: &Target,
    mail: &MailConfig,
    dir: &Path,
) -> OpResult<Vec<(String, String)>> {
    render_with(target, mail, &PolicydSettings::default(), dir)
}

/// The policy service's lines: its address as Postfix names it, and what
/// its systemd unit may write (the SQLite database's directory).
fn policyd_vars(
    target: &Target,
    policyd: &PolicydSettings,
) -> OpResult<[(&'static str, String); 2]> {
    let listen = policyd.listen().map_err(|m| {
        OpError::invalid(
            "policyd.listen",
            m.trim_start_matches("policyd.listen ").to_string(),
        )
    })?;
    let rw = match target {
        Target::Sqlite(p) => match p.parent() {
            Some(d) => format!("ReadWritePaths={}", d.display()),
            None => String::new(),
        },
        Target::Postgres(_) => "# PostgreSQL: nothing to write locally.".to_string(),
    };
    Ok([("policyd", listen.postfix()), ("policyd_rw", rw)])
}

/// `render_all` with the config's `[policyd]`.
pub fn render_with(
    target: &Target,
    mail: &MailConfig,
    policyd: &PolicydSettings,
    dir: &Path,
) -> OpResult<Vec<(String, String)>> {
    let dir_s = dir.display().to_string();
    check_path_setting("out", &dir_s)?;
    let root = mail.mail_root.trim_end_matches('/');
    check_path_setting("mail.mail_root", &mail.mail_root)?;
    if mail.quota_status_port == 0 {
        return Err(OpError::invalid(
            "mail.quota_status_port",
            "must be a TCP port between 1 and 65535",
        ));
    }
    if mail.quota_grace_percent > 100 {
        return Err(OpError::invalid(
            "mail.quota_grace_percent",
            format!(
                "must be between 0 and 100 (got {})",
                mail.quota_grace_percent
            ),
        ));
    }
    crate::sieve::check_sieve_before_setting(&mail.sieve_before_setting)
        .map_err(|m| OpError::invalid("mail.sieve_before_setting", m))?;
    let vars = [
        ("header", target.postfix_header().trim_end().to_string()),
        ("kind", target.kind().to_string()),
        ("connect", target.dovecot_connect()),
        ("dir", dir_s),
        ("mail_root", root.to_string()),
        ("uid", mail.vmail_uid.to_string()),
        ("gid", mail.vmail_gid.to_string()),
        // The login characters: the same rule that checks a new mailbox's
        // address, so every mailbox created can log in.
        ("username_chars", crate::validate::dovecot_username_chars()),
        ("quota_status_port", mail.quota_status_port.to_string()),
        ("quota_grace", mail.quota_grace_percent.to_string()),
        ("sieve_before", mail.sieve_before_setting.clone()),
        ("vacation_script", crate::sieve::SCRIPT_NAME.to_string()),
        // The passdb (issue 19): the SQL clock, and how an app password
        // is told from a mailbox password (ops::app_passwords).
        ("time", target.sql_time().0.to_string()),
        ("now", target.sql_time().1.to_string()),
        ("app_prefix", crate::password::APP_PREFIX.to_string()),
        (
            "app_prefix_len",
            crate::password::APP_PREFIX.len().to_string(),
        ),
        (
            "app_selector_len",
            crate::password::APP_SELECTOR_LEN.to_string(),
        ),
    ];
    let vars: Vec<(&str, String)> = vars
        .into_iter()
        .chain(policyd_vars(target, policyd)?)
        .collect();
    TEMPLATES
        .iter()
        .map(|(name, t)| Ok((name.to_string(), render(name, t, &vars)?)))
        .collect()
}

/// Render and write everything into `out` (made absolute: the files name
/// each other by absolute path, as Postfix requires).
pub fn generate(target: &Target, mail: &MailConfig, out: &Path) -> OpResult<Generated> {
    generate_with(target, mail, &PolicydSettings::default(), out)
}

/// `generate` with the config's `[policyd]` (its address in the main.cf
/// lines, the unit's writable directory).
pub fn generate_with(
    target: &Target,
    mail: &MailConfig,
    policyd: &PolicydSettings,
    out: &Path,
) -> OpResult<Generated> {
    let out = absolute(out)?;
    let files = render_with(target, mail, policyd, &out)?;
    let gid = file_group(&mail.file_group)?;
    atomic::write_dir(&out, &files, FILE_MODE, gid)
        .map_err(|e| OpError::Io(format!("writing {}: {e}", out.display())))?;
    Ok(Generated {
        dir: out,
        backend: target.kind(),
        files: files.into_iter().map(|(n, _)| n).collect(),
    })
}

/// `mail.file_group` as a gid (None: leave the creating user's group).
fn file_group(name: &str) -> OpResult<Option<u32>> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(Some(g.gid.as_raw())),
        Ok(None) => Err(OpError::invalid(
            "mail.file_group",
            format!(
                "no group named {name:?} on this machine (create it, or leave the setting empty)"
            ),
        )),
        Err(e) => Err(OpError::Io(format!("looking up group {name:?}: {e}"))),
    }
}

/// Where the mail servers read from: `lookup` (`--lookup-url`, else
/// `[mail] database_url`) when set, else the URL this program uses. The
/// lookup URL is only written into the files, never connected to, so a
/// read-only role is enough for it.
pub fn lookup_target(admin: &DbUrl, lookup: Option<&str>) -> OpResult<Target> {
    let Some(raw) = lookup.map(str::trim).filter(|s| !s.is_empty()) else {
        return Target::from_url(admin);
    };
    let url = DbUrl::parse(raw).map_err(|e| OpError::invalid("lookup_url", e.to_string()))?;
    let t = Target::from_url(&url)?;
    if std::mem::discriminant(&url) != std::mem::discriminant(admin) {
        return Err(OpError::invalid(
            "lookup_url",
            "must name the same kind of database as the one this program uses (both SQLite or both PostgreSQL)",
        ));
    }
    Ok(t)
}

fn absolute(p: &Path) -> OpResult<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| OpError::Io(format!("cannot resolve {}: {e}", p.display())))?;
    Ok(cwd.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_without_leftovers() {
        let t = Target::Sqlite("/var/lib/pm/pm.db".into());
        let files = render_all(&t, &MailConfig::default(), Path::new("/etc/pm")).unwrap();
        assert_eq!(files.len(), TEMPLATES.len());
        let cf = &files
            .iter()
            .find(|(n, _)| n == "virtual_mailbox_maps.cf")
            .unwrap()
            .1;
        assert!(cf.contains("dbpath = /var/lib/pm/pm.db\n"), "{cf}");
        let sql = &files
            .iter()
            .find(|(n, _)| n == "dovecot-sql.conf.ext")
            .unwrap()
            .1;
        assert!(sql.contains("driver = sqlite\n") && sql.contains("'/var/vmail/' ||"));
        assert!(render("x", "a {{nope}} b", &[]).is_err());
    }

    /// The indented block after `heading`: the main.cf lines.
    fn main_cf_block(text: &str, heading: &str) -> String {
        let start = text.find(heading).unwrap();
        text[start..]
            .lines()
            .skip_while(|l| !l.starts_with("    "))
            .take_while(|l| l.starts_with("    "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// One source of truth: the setup guide's main.cf block is the one the
    /// generated README gives (issue 22, doc errors).
    #[test]
    fn setup_doc_main_cf_is_the_generated_one() {
        let t = Target::Postgres(
            super::super::target::PgParams::parse("postgres://mailread@127.0.0.1/pm").unwrap(),
        );
        let files = render_all(
            &t,
            &MailConfig::default(),
            Path::new("/etc/postfix-manager/mail"),
        )
        .unwrap();
        let readme = &files.iter().find(|(n, _)| n == "README.md").unwrap().1;
        let doc = include_str!("../../docs/mail-server-setup.md");
        let ours = main_cf_block(readme, "## Postfix (main.cf)");
        assert!(ours.contains("recipient_access.cf") && ours.contains("check_policy_service"));
        assert_eq!(main_cf_block(doc, "## 5. Postfix"), ours);
    }

    /// The policy service's lines name the configured address, and the
    /// maps honour sending suspensions (issue 21).
    #[test]
    fn policyd_lines_follow_the_config() {
        let t = Target::Sqlite("/var/lib/pm/pm.db".into());
        let p = PolicydSettings {
            listen: "127.0.0.1:10099".into(),
            ..Default::default()
        };
        let files = render_with(&t, &MailConfig::default(), &p, Path::new("/etc/pm")).unwrap();
        let get = |n: &str| &files.iter().find(|(f, _)| f == n).unwrap().1;
        let readme = get("README.md");
        assert!(
            readme.contains(
                "smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10099\n"
            ),
            "{readme}"
        );
        assert!(!readme.contains("10040"));
        let unit = get("postfix-manager-policyd.service");
        assert!(unit.contains("ExecStart=/usr/local/bin/postfix-manager policyd run"));
        assert!(
            unit.contains("ReadWritePaths=/var/lib/pm\n") && unit.contains("NoNewPrivileges=yes")
        );
        assert!(get("sender_login_maps.cf").contains("sending_suspensions"));
        assert!(get("dovecot-sql.conf.ext").contains("sending_suspensions"));
        let bad = PolicydSettings {
            listen: "nowhere".into(),
            ..Default::default()
        };
        let e = render_with(&t, &MailConfig::default(), &bad, Path::new("/etc/pm")).unwrap_err();
        assert!(e.to_string().starts_with("policyd.listen:"), "{e}");
    }

    #[test]
    fn unsafe_settings_are_refused() {
        let t = Target::Sqlite("/x.db".into());
        let mail = MailConfig {
            mail_root: "/var/v'mail".into(),
            ..Default::default()
        };
        let e = render_all(&t, &mail, Path::new("/etc/pm")).unwrap_err();
        assert!(e.to_string().starts_with("mail.mail_root:"), "{e}");
        for (mail, field) in [
            (
                MailConfig {
                    quota_grace_percent: 101,
                    ..Default::default()
                },
                "mail.quota_grace_percent:",
            ),
            (
                MailConfig {
                    quota_status_port: 0,
                    ..Default::default()
                },
                "mail.quota_status_port:",
            ),
        ] {
            let e = render_all(&t, &mail, Path::new("/etc/pm")).unwrap_err();
            assert!(e.to_string().starts_with(field), "{e}");
        }
    }
}
