//! The config file (TOML): where it lives, what it holds, how it is written.
//! Precedence for the database URL: `--database-url` / env, then the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const APP: &str = "postfix-manager";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub mail: MailConfig,
    /// Terminal UI command keys moved from their defaults (see docs/keybindings.md).
    pub keys: std::collections::BTreeMap<String, String>,
    /// Terminal UI colors by role (see docs/keybindings.md).
    pub colors: std::collections::BTreeMap<String, String>,
    pub secrets: SecretsConfig,
    pub audit: AuditSettings,
    pub ldap: LdapSettings,
    pub quota: QuotaSettings,
    pub dkim: DkimSettings,
    pub dns: DnsSettings,
    /// The policy service (issue 21; docs/policy-service.md).
    pub policyd: crate::policyd::settings::PolicydSettings,
    pub lifecycle: LifecycleSettings,
    /// Vacation replies as Pigeonhole Sieve (issue 20; src/sieve.rs).
    pub vacation: crate::sieve::VacationSettings,
}

/// `[dns]`: what each domain's DNS should say (`domain dns --zone`) and how
/// `domain check` asks (issue 18; see docs/dns.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DnsSettings {
    /// The host every domain's MX, SRV and autoconfig names point at, and
    /// the name the sending IPs' PTR records should give. Empty: `domain
    /// dns` and `domain check` refuse, naming this field.
    pub mail_host: String,
    /// The addresses this host sends from (IPv4 and IPv6): the SPF record
    /// lists them and each needs a PTR that resolves back (FCrDNS).
    pub sending_ips: Vec<String>,
    /// The DMARC policy published: none, quarantine or reject.
    pub dmarc_policy: String,
    /// Where DMARC aggregate reports go (`rua=mailto:...`); empty: none.
    pub dmarc_rua: String,
    /// MTA-STS mode: none (publish nothing), testing or enforce.
    pub mta_sts_mode: String,
    /// Where TLS-RPT reports go (`_smtp._tls`); empty: the DMARC address.
    pub tls_rpt_rua: String,
    /// `["system"]` (the default): /etc/resolv.conf. Otherwise IP:port
    /// pairs asked directly, e.g. `["127.0.0.1:5353"]`.
    pub nameservers: Vec<String>,
    /// Longest wait for one answer before it counts as "resolver timeout".
    pub timeout_ms: u64,
    /// Domains `domain check --all` resolves at the same time.
    pub concurrency: usize,
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            mail_host: String::new(),
            sending_ips: Vec::new(),
            dmarc_policy: "quarantine".into(),
            dmarc_rua: String::new(),
            mta_sts_mode: "none".into(),
            tls_rpt_rua: String::new(),
            nameservers: vec!["system".into()],
            timeout_ms: 3000,
            concurrency: 32,
        }
    }
}

impl DnsSettings {
    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        if !["none", "quarantine", "reject"].contains(&self.dmarc_policy.as_str()) {
            return Err("dns.dmarc_policy must be none, quarantine or reject".into());
        }
        if !["none", "testing", "enforce"].contains(&self.mta_sts_mode.as_str()) {
            return Err("dns.mta_sts_mode must be none, testing or enforce".into());
        }
        for ip in &self.sending_ips {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "dns.sending_ips: {ip:?} is not an IPv4 or IPv6 address"
                ));
            }
        }
        let system = self.nameservers.len() == 1 && self.nameservers[0] == "system";
        if !system {
            if self.nameservers.is_empty() {
                return Err("dns.nameservers must be [\"system\"] or IP:port pairs".into());
            }
            for ns in &self.nameservers {
                if ns.parse::<std::net::SocketAddr>().is_err() {
                    return Err(format!(
                        "dns.nameservers: {ns:?} is not IP:port (or use [\"system\"] alone)"
                    ));
                }
            }
        }
        if !(50..=60_000).contains(&self.timeout_ms) {
            return Err("dns.timeout_ms must be between 50 and 60000".into());
        }
        if !(1..=1024).contains(&self.concurrency) {
            return Err("dns.concurrency must be between 1 and 1024".into());
        }
        Ok(())
    }
}

/// `[dkim]`: DKIM keys (issue 17; docs/dkim.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DkimSettings {
    /// Selector of a new key: `%Y`, `%m`, `%d` are the date (`pm%Y%m`:
    /// `pm202612`); Ed25519 keys get an `e` after it.
    pub selector_pattern: String,
    /// Days a retiring key stays published before `dkim revoke --due`.
    pub grace_days: i64,
    /// `rsa` or `ed25519`: what `dkim add` and `domain add --dkim` make.
    pub default_algorithm: String,
    /// RSA key size when none is given (2048, 3072 or 4096).
    pub default_bits: u32,
    /// Owner of exported key files and tables (0600), e.g. "opendkim" or
    /// "_rspamd". Empty: the user running the export.
    pub key_owner: String,
    /// Their group. Empty: `key_owner`'s primary group (or the runner's).
    pub key_group: String,
    /// The signer sets `mail generate` writes when DKIM keys exist:
    /// "opendkim", "rspamd", both or none.
    pub signers: Vec<String>,
    /// Where `mail generate` writes the OpenDKIM set. Empty: `opendkim`
    /// beside the generated mail directory. (`dkim export --opendkim DIR`
    /// writes anywhere.)
    pub opendkim_dir: String,
    /// The same for rspamd (empty: `rspamd` beside the mail directory).
    pub rspamd_dir: String,
    /// Run after an OpenDKIM export (`sh -c`; empty: none), e.g.
    /// "systemctl reload opendkim". PM_DKIM_DIR is the exported directory.
    pub opendkim_reload: String,
    /// Run after an rspamd export, e.g. "systemctl reload rspamd".
    pub rspamd_reload: String,
    /// Longest a reload may run before it is stopped (1-25 s: it runs
    /// inside the export's write transaction, like `mail config apply`).
    pub reload_timeout_secs: u64,
    /// `domain add` creates a pending key unless `--no-dkim`.
    pub on_domain_add: bool,
}

impl Default for DkimSettings {
    fn default() -> Self {
        DkimSettings {
            selector_pattern: "pm%Y%m".into(),
            grace_days: 7,
            default_algorithm: "rsa".into(),
            default_bits: 2048,
            key_owner: String::new(),
            key_group: String::new(),
            signers: vec!["opendkim".into()],
            opendkim_dir: String::new(),
            rspamd_dir: String::new(),
            opendkim_reload: String::new(),
            rspamd_reload: String::new(),
            reload_timeout_secs: 25,
            on_domain_add: false,
        }
    }
}

impl DkimSettings {
    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        if !(0..=365).contains(&self.grace_days) {
            return Err("dkim.grace_days must be between 0 and 365".into());
        }
        if !matches!(self.default_algorithm.as_str(), "rsa" | "ed25519") {
            return Err("dkim.default_algorithm must be rsa or ed25519".into());
        }
        if ![2048, 3072, 4096].contains(&self.default_bits) {
            return Err("dkim.default_bits must be 2048, 3072 or 4096".into());
        }
        if !(1..=25).contains(&self.reload_timeout_secs) {
            return Err("dkim.reload_timeout_secs must be between 1 and 25".into());
        }
        if let Some(bad) = self
            .signers
            .iter()
            .find(|s| !matches!(s.as_str(), "opendkim" | "rspamd"))
        {
            return Err(format!(
                "dkim.signers: {bad:?} is not a signer (opendkim or rspamd)"
            ));
        }
        for (field, dir) in [
            ("opendkim_dir", &self.opendkim_dir),
            ("rspamd_dir", &self.rspamd_dir),
        ] {
            if !dir.is_empty() && !dir.starts_with('/') {
                return Err(format!("dkim.{field} must be an absolute path"));
            }
        }
        let probe = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default();
        crate::dkim::record::next_selector(
            &self.selector_pattern,
            probe,
            crate::dkim::key::Algorithm::Rsa,
            &[],
        )
        .map_err(|e| format!("dkim.selector_pattern {:?}: {e}", self.selector_pattern))?;
        Ok(())
    }
}

/// `[lifecycle]`: what happens to a deleted mailbox (issue 20; see
/// docs/operations.md, "Deleted mailboxes").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LifecycleSettings {
    /// Days a deleted mailbox stays restorable before `mailbox purge --due`
    /// removes its mail.
    pub hold_days: u32,
    /// Deletes one maildir (`sh -c`, as the user running the purge, which
    /// must be able to remove the vmail files). PM_HOME is the mail home as
    /// the generated userdb computes it (`<mail_root>/<domain>/<local
    /// part>`), PM_ADDRESS the address: passed in the environment, never
    /// pasted into the command, so no address can inject shell.
    pub purge_command: String,
    /// Moves one mail home for `mailbox rename` (`sh -c`, as the user
    /// running the rename). PM_OLD_HOME and PM_NEW_HOME are the homes as
    /// the generated userdb computes them before and after; PM_OLD_ADDRESS
    /// and PM_NEW_ADDRESS the addresses; all in the environment, never
    /// pasted into the command. It must leave either the old home or the
    /// new one, never both (see docs/operations.md, "Renaming").
    pub rename_command: String,
    /// Local parts of the aliases `domain add` creates in a new domain
    /// (RFC 2142 role addresses); `--no-default-aliases` skips them.
    pub default_aliases: Vec<String>,
    /// Where they lead. Empty: the creating admin's email address.
    pub default_alias_target: String,
}

pub const DEFAULT_PURGE_COMMAND: &str = "rm -rf -- \"$PM_HOME\"";

/// A home that was never created (no mail yet) needs no move; a new
/// domain directory gets the owner of the old one, so Dovecot can still
/// create homes in it; `mv -T` is one rename(2) on one file system, and
/// refuses to move into an existing non-empty directory.
pub const DEFAULT_RENAME_COMMAND: &str = "set -e; [ -e \"$PM_OLD_HOME\" ] || exit 0; \
p=$(dirname -- \"$PM_NEW_HOME\"); \
if [ ! -d \"$p\" ]; then mkdir -p -- \"$p\"; chown --reference=\"$(dirname -- \"$PM_OLD_HOME\")\" -- \"$p\"; fi; \
mv -T -- \"$PM_OLD_HOME\" \"$PM_NEW_HOME\"";

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            hold_days: 30,
            purge_command: DEFAULT_PURGE_COMMAND.to_string(),
            rename_command: DEFAULT_RENAME_COMMAND.to_string(),
            default_aliases: ["postmaster", "abuse", "hostmaster", "webmaster"]
                .map(String::from)
                .to_vec(),
            default_alias_target: String::new(),
        }
    }
}

impl LifecycleSettings {
    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        if !(1..=3650).contains(&self.hold_days) {
            return Err(
                "lifecycle.hold_days must be between 1 and 3650 (use `mailbox delete --now` to skip the hold)"
                    .into(),
            );
        }
        if self.purge_command.trim().is_empty() {
            return Err("lifecycle.purge_command must not be empty".into());
        }
        if self.rename_command.trim().is_empty() {
            return Err("lifecycle.rename_command must not be empty".into());
        }
        for l in &self.default_aliases {
            crate::validate::alias_address(
                "lifecycle.default_aliases",
                &format!("{l}@example.com"),
            )
            .map_err(|e| format!("{e} (got {l:?})"))?;
        }
        if !self.default_alias_target.trim().is_empty() {
            crate::validate::destinations(
                "lifecycle.default_alias_target",
                &self.default_alias_target,
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// `[quota]`: live watching, thresholds and history (issue 6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct QuotaSettings {
    /// Percent used at which a row is marked as a warning (`!`).
    pub warn_percent: u32,
    /// Percent used at which a row is marked critical (`!!`).
    pub crit_percent: u32,
    /// Seconds between the dashboard's change checks.
    pub refresh_secs: u64,
    /// Days of usage samples kept; `quota sample` prunes older ones.
    pub history_days: u32,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            warn_percent: 80,
            crit_percent: 95,
            refresh_secs: 2,
            history_days: 30,
        }
    }
}

impl QuotaSettings {
    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.warn_percent) {
            return Err("quota.warn_percent must be between 1 and 1000".into());
        }
        if !(1..=1000).contains(&self.crit_percent) {
            return Err("quota.crit_percent must be between 1 and 1000".into());
        }
        if self.warn_percent > self.crit_percent {
            return Err("quota.warn_percent must not be above quota.crit_percent".into());
        }
        if !(1..=3600).contains(&self.refresh_secs) {
            return Err("quota.refresh_secs must be between 1 and 3600".into());
        }
        if !(1..=3650).contains(&self.history_days) {
            return Err("quota.history_days must be between 1 and 3650".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SecretsConfig {
    /// The key that encrypts stored secrets (LDAP bind passwords). Default:
    /// `secret.key` next to the config file. Back it up apart from the
    /// database: a dump is useless without it, and it is useless without a dump.
    pub key_file: Option<PathBuf>,
}

/// `[audit]`: what keeps the audit chain honest against someone who can
/// write to the database (see docs/operations.md, "Threat model").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuditSettings {
    /// The HMAC key audit rows are chained with. Default: `audit.key` beside
    /// the secrets key file. Created 0600 on the first write; refused when
    /// group or others may read it. Keep it off the database host's backups
    /// of the database: whoever holds both can rewrite the log unnoticed.
    pub key_file: Option<PathBuf>,
    /// Where a keyed checkpoint of the chain head is appended after every
    /// write. Default: `audit-checkpoints.log` beside the audit key.
    pub checkpoint_file: Option<PathBuf>,
    /// Also send every checkpoint to syslog (journald), off the database's
    /// reach.
    pub syslog: bool,
    /// The local syslog socket.
    pub syslog_socket: PathBuf,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            key_file: None,
            checkpoint_file: None,
            syslog: true,
            syslog_socket: PathBuf::from("/dev/log"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LdapSettings {
    /// Longest wait for one LDAP server (connect, TLS, bind, search) before
    /// a test reports a timeout or a login moves on to the next server.
    pub timeout_secs: u64,
}

impl Default for LdapSettings {
    fn default() -> Self {
        LdapSettings { timeout_secs: 5 }
    }
}

/// Name of the key file when the config names none.
pub const DEFAULT_KEY_FILE: &str = "secret.key";
/// Name of the audit HMAC key file when the config names none.
pub const DEFAULT_AUDIT_KEY_FILE: &str = "audit.key";
/// Name of the audit checkpoint file when the config names none.
pub const DEFAULT_CHECKPOINT_FILE: &str = "audit-checkpoints.log";

impl Config {
    /// The secrets key file: as configured (relative paths are taken from
    /// the config file's directory), else `secret.key` beside the config.
    pub fn key_file(&self, config_path: &Path) -> PathBuf {
        let dir = config_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match &self.secrets.key_file {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => dir.join(p),
            None => dir.join(DEFAULT_KEY_FILE),
        }
    }

    /// The audit key and checkpoint files and the syslog socket, resolved
    /// like `key_file` (relative paths from the config file's directory).
    pub fn audit_seal(&self, config_path: &Path) -> crate::ops::audit_seal::Seal {
        let secrets_key = self.key_file(config_path);
        let beside_secrets = secrets_key.parent().unwrap_or(Path::new("."));
        let dir = config_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let key = match &self.audit.key_file {
            Some(p) => dir.join(p),
            None => beside_secrets.join(DEFAULT_AUDIT_KEY_FILE),
        };
        let checkpoints = match &self.audit.checkpoint_file {
            Some(p) => dir.join(p),
            None => key
                .parent()
                .unwrap_or(Path::new("."))
                .join(DEFAULT_CHECKPOINT_FILE),
        };
        let seal = crate::ops::audit_seal::Seal::new(key, checkpoints);
        if self.audit.syslog {
            seal.with_syslog(&self.audit.syslog_socket)
        } else {
            seal
        }
    }

    pub fn ldap_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.ldap.timeout_secs)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DatabaseConfig {
    pub url: Option<String>,
    /// PostgreSQL: read the password from this file (first line) instead of
    /// writing it into `url`, so the config file can be shared or committed.
    /// libpq's own PGPASSFILE / ~/.pgpass work too when neither gives one.
    pub password_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SecurityConfig {
    /// Shortest password accepted for admins and mailboxes (characters).
    pub min_password_length: usize,
    /// bcrypt cost for new hashes; 12 takes ~250 ms, which is the point.
    pub bcrypt_cost: u32,
    /// Failed logins in a row before the account is locked.
    pub lockout_threshold: i32,
    /// First lock lasts this long; each further failure doubles it.
    pub lockout_base_seconds: i64,
    /// The longest a lock lasts.
    pub lockout_max_seconds: i64,
    /// Minutes without a key before the terminal UI locks and asks for the
    /// password again (0: never).
    pub idle_lock_minutes: u64,
    /// Roles ("admin", "user", "readonly") whose users must enrol a second
    /// factor (TOTP) before they may do anything else.
    pub require_totp: Vec<String>,
}

impl SecurityConfig {
    /// The roles of `require_totp` (unknown names are refused at load).
    pub fn totp_roles(&self) -> Vec<crate::model::Role> {
        self.require_totp
            .iter()
            .filter_map(|r| crate::model::Role::parse("require_totp", r).ok())
            .collect()
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            min_password_length: 12,
            bcrypt_cost: 12,
            lockout_threshold: 5,
            lockout_base_seconds: 30,
            lockout_max_seconds: 3600,
            idle_lock_minutes: 15,
            require_totp: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MailConfig {
    /// Quota for a new mailbox when none is given (bytes; 0 = unlimited).
    pub default_mailbox_quota: i64,
    /// What `quota sync` runs (through `sh -c`) to read Dovecot's usage;
    /// e.g. prefix `ssh mailhost` when Dovecot runs elsewhere.
    pub quota_command: String,
    /// Owner of every mailbox's files, as Dovecot's userdb returns it.
    pub vmail_uid: u32,
    pub vmail_gid: u32,
    /// Mail homes are `<mail_root>/<domain>/<local part>`.
    pub mail_root: String,
    /// Validation of a staged copy before a Postfix file is replaced
    /// (`sh -c`; PM_STAGE_DIR holds main.cf and master.cf as they would be).
    pub postfix_stage_check: String,
    /// The same for Dovecot (PM_STAGE_FILE is the staged file, beside the
    /// real one so relative `!include`s resolve).
    pub dovecot_stage_check: String,
    /// Run after a config is applied from the terminal UI (empty: none).
    pub postfix_reload: String,
    pub dovecot_reload: String,
    /// The database URL written into the generated Postfix and Dovecot
    /// files: the mail servers' read-only role (see docs/mail-server-setup.md).
    /// Empty: the URL this program connects with. `mail generate
    /// --lookup-url` overrides it.
    pub database_url: String,
    /// Group given to newly generated files and their directory (e.g.
    /// "postfix"); a file that already exists keeps its owner, group and
    /// mode. Empty: the group of the user running `mail generate`.
    pub file_group: String,
    /// Loopback port of Dovecot's quota-status policy service, which Postfix
    /// asks at RCPT (check_policy_service).
    pub quota_status_port: u16,
    /// Dovecot's quota_grace in percent: how far the last message may take a
    /// mailbox past its limit. 0: the limit is hard.
    pub quota_grace_percent: u32,
    /// PostgreSQL: the hosts the generated Postfix maps and Dovecot config
    /// query instead of the URL's host, e.g. `["db1", "replica1",
    /// "replica2"]` (a primary and its streaming replicas; same port for
    /// all). Empty: the URL's host. See docs/operations.md, "One database,
    /// many mail hosts".
    pub lookup_hosts: Vec<String>,
    /// The Pigeonhole setting the generated dovecot-sieve.conf points at
    /// each mailbox's vacation script: `sieve_before`, or `sieve_before2`..
    /// when the host already uses the lower ones (issue 20).
    pub sieve_before_setting: String,
}

pub const DEFAULT_QUOTA_COMMAND: &str = "doveadm -f tab quota get -A";

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            default_mailbox_quota: 1 << 30,
            quota_command: DEFAULT_QUOTA_COMMAND.to_string(),
            vmail_uid: 5000,
            vmail_gid: 5000,
            mail_root: "/var/vmail".to_string(),
            postfix_stage_check: "postconf -c \"$PM_STAGE_DIR\" -n >/dev/null".to_string(),
            dovecot_stage_check: "doveconf -n -c \"$PM_STAGE_FILE\" >/dev/null".to_string(),
            postfix_reload: String::new(),
            dovecot_reload: String::new(),
            database_url: String::new(),
            file_group: String::new(),
            quota_status_port: 12340,
            quota_grace_percent: 0,
            lookup_hosts: Vec::new(),
            sieve_before_setting: "sieve_before".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find a home directory to put the config file in; pass --config PATH")]
    NoHome,
    #[error("reading config {0}: {1}")]
    Read(PathBuf, String),
    #[error("config {0}: {1}")]
    Parse(PathBuf, String),
    #[error("writing config {0}: {1}")]
    Write(PathBuf, String),
}

fn dirs() -> Result<directories::ProjectDirs, ConfigError> {
    directories::ProjectDirs::from("", "", APP).ok_or(ConfigError::NoHome)
}

/// `--config` / POSTFIX_MANAGER_CONFIG if given, else the platform config dir.
pub fn config_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(dirs()?.config_dir().join("config.toml")),
    }
}

/// Where `init` puts the SQLite database when no URL is given.
pub fn default_sqlite_path() -> Result<PathBuf, ConfigError> {
    Ok(dirs()?.data_dir().join("postfix-manager.db"))
}

impl Config {
    /// Load the file; a missing file is the default config.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConfigError::Read(path.to_path_buf(), e.to_string())),
        };
        let cfg: Config = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse(path.to_path_buf(), e.to_string()))?;
        if cfg.security.min_password_length < 8 {
            return Err(ConfigError::Parse(
                path.to_path_buf(),
                "security.min_password_length must be at least 8".into(),
            ));
        }
        if cfg.security.bcrypt_cost < 4 || cfg.security.bcrypt_cost > 31 {
            return Err(ConfigError::Parse(
                path.to_path_buf(),
                "security.bcrypt_cost must be between 4 and 31".into(),
            ));
        }
        if let Some(bad) = cfg
            .security
            .require_totp
            .iter()
            .find(|r| crate::model::Role::parse("require_totp", r).is_err())
        {
            return Err(ConfigError::Parse(
                path.to_path_buf(),
                format!("security.require_totp: {bad:?} is not a role (admin, user or readonly)"),
            ));
        }
        if !(1..=300).contains(&cfg.ldap.timeout_secs) {
            return Err(ConfigError::Parse(
                path.to_path_buf(),
                "ldap.timeout_secs must be between 1 and 300".into(),
            ));
        }
        cfg.quota
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        cfg.dns
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        cfg.dkim
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        cfg.policyd
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        cfg.lifecycle
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        cfg.vacation
            .check()
            .map_err(|m| ConfigError::Parse(path.to_path_buf(), m))?;
        Ok(Some(cfg))
    }

    /// Write atomically (temp file + rename) with mode 0600: the URL may
    /// hold a database password.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let werr = |e: String| ConfigError::Write(path.to_path_buf(), e);
        let text = toml::to_string_pretty(self).map_err(|e| werr(e.to_string()))?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| werr(e.to_string()))?;
        let tmp = dir.join(format!(".{APP}.config.{}.tmp", std::process::id()));
        let body = format!(
            "# postfix-manager configuration (written by `postfix-manager init`).\n\
             # --database-url and POSTFIX_MANAGER_DATABASE_URL override database.url.\n\n{text}"
        );
        write_private(&tmp, body.as_bytes()).map_err(|e| werr(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            werr(e.to_string())
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/config.toml");
        let mut c = Config::default();
        c.database.url = Some("sqlite:///x.db".into());
        c.save(&p).unwrap();
        assert_eq!(Config::load(&p).unwrap(), Some(c));
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(Config::load(&dir.path().join("none.toml")).unwrap(), None);
    }
}
