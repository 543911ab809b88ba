//! The `:` line: what each word means, written once. Screens come from
//! `Entity::command()`; the rest are the app's own commands. Parsing gives
//! a `Command`, so the app matches on meaning, never on a typed word.

use super::app::{App, Modal, Screen};
use super::forms;
use crate::model::Entity;
use crate::worker::{Request, Slot};

/// What a `:` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Nothing typed.
    Nothing,
    Quit,
    Dashboard,
    Preferences,
    Password,
    Backup,
    Maintain {
        vacuum: bool,
    },
    /// `:import [FILE]` / `:export [FILE]` on the screen's table.
    Csv {
        export: bool,
        file: String,
    },
    /// Not from the TUI: says how.
    Restore,
    /// Enrol a second factor.
    Totp,
    Open(Entity),
}

/// The app's own words in the order Tab offers them, and what each means;
/// the words after the screens.
const WORDS: &[(&str, Command)] = &[
    ("preferences", Command::Preferences),
    ("password", Command::Password),
    ("totp", Command::Totp),
    ("backup", Command::Backup),
    ("maintain", Command::Maintain { vacuum: false }),
    ("vacuum", Command::Maintain { vacuum: true }),
    ("import", Command::Nothing),
    ("export", Command::Nothing),
    ("quit", Command::Quit),
];

/// Other spellings taken whole (never completed or offered).
const ALIASES: &[(&str, Command)] = &[
    ("q", Command::Quit),
    ("dash", Command::Dashboard),
    ("home", Command::Dashboard),
    ("prefs", Command::Preferences),
    ("passwd", Command::Password),
    ("restore", Command::Restore),
];

const SCREEN_ALIASES: [(&str, Entity); 5] = [
    ("admins", Entity::Users),
    ("alias-domain", Entity::AliasDomains),
    ("aliasdomains", Entity::AliasDomains),
    ("mailservers", Entity::MailServers),
    ("perms", Entity::Permissions),
];

/// The commands the `?` help names, in its order.
pub const HELP_COMMANDS: [&str; 7] = [
    "import",
    "export",
    "backup",
    "maintain",
    "vacuum",
    "preferences",
    "password",
];

/// A `:` line: Ok(what it asks), or Err(the message saying why not).
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(Command::Nothing);
    }
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    if verb == "import" || verb == "export" {
        return Ok(Command::Csv {
            export: verb == "export",
            file: rest.trim().to_string(),
        });
    }
    if line == "dashboard" {
        return Ok(Command::Dashboard);
    }
    if let Some((_, c)) = WORDS.iter().chain(ALIASES).find(|(w, _)| *w == line) {
        return Ok(c.clone());
    }
    if let Some(e) = screen(line) {
        return Ok(Command::Open(e));
    }
    let hits = completions(line);
    Err(if hits.len() > 1 {
        format!(
            ":{line} could be {}; type more, or Tab to complete",
            hits.join(", ")
        )
    } else {
        format!(
            "no screen {line:?}; Tab completes, ? lists them: {}",
            words().join(", ")
        )
    })
}

/// A screen by its `:` name, an alias, or an unambiguous prefix.
pub fn screen(word: &str) -> Option<Entity> {
    let w = word.trim().to_ascii_lowercase();
    if let Some(e) = Entity::ALL.iter().find(|e| e.command() == w) {
        return Some(*e);
    }
    if let Some((_, e)) = SCREEN_ALIASES.iter().find(|(a, _)| *a == w) {
        return Some(*e);
    }
    let hits: Vec<Entity> = Entity::ALL
        .iter()
        .copied()
        .filter(|e| !w.is_empty() && e.command().starts_with(&w))
        .collect();
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The screens `:` opens, as the help lists them.
pub fn screen_words() -> Vec<&'static str> {
    std::iter::once("dashboard")
        .chain(Entity::ALL.iter().map(|e| e.command()))
        .collect()
}

/// Every word the `:` line takes, for Tab completion and for naming the
/// candidates of an ambiguous prefix.
pub fn words() -> Vec<&'static str> {
    let mut words = screen_words();
    words.extend(WORDS.iter().map(|(w, _)| *w));
    words
}

/// The `:` words starting with `prefix` (case-insensitive).
pub fn completions(prefix: &str) -> Vec<&'static str> {
    let p = prefix.trim().to_ascii_lowercase();
    words().into_iter().filter(|w| w.starts_with(&p)).collect()
}

impl App {
    /// `:totp`: the enrolment screen, waiting for the worker's new secret.
    pub(super) fn open_totp(&mut self) {
        self.modal = Some(Modal::Totp(Box::default()));
        self.send(
            Slot::Totp,
            Request::Run(Box::new(crate::ops::command::totp::EnrollTotp)),
        );
    }

    /// Run a `:` command: a screen name, or one of the app's own.
    pub fn command(&mut self, word: &str) {
        use super::commands::Command;
        let command = match super::commands::parse(word) {
            Ok(c) => c,
            Err(why) => {
                self.status = Some((why, true));
                return;
            }
        };
        match command {
            Command::Nothing => {}
            Command::Quit => self.quit = true,
            Command::Dashboard => {
                self.stack.truncate(1);
                self.refresh_top();
            }
            Command::Preferences => {
                if let Some(s) = &self.session {
                    self.modal = Some(Modal::Form(forms::preferences(&s.preferences)));
                }
            }
            Command::Password => self.modal = Some(Modal::Form(forms::own_password(false))),
            Command::Backup => {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                let ext = if self.db_file.is_some() { "db" } else { "sql" };
                let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
                let default = format!("{home}/postfix-manager-{stamp}.{ext}");
                self.modal = Some(Modal::Form(forms::backup(&default)));
            }
            Command::Maintain { vacuum } => {
                self.status = Some(("Maintaining the database…".into(), false));
                self.send(
                    Slot::Action,
                    Request::Run(Box::new(crate::ops::command::Maintain { vacuum })),
                );
            }
            Command::Csv { export, file } => self.csv_form(export, &file),
            Command::Restore => {
                self.status = Some((
                    "Restore replaces the database under every open session: quit and run `postfix-manager db restore FILE`.".into(),
                    true,
                ));
            }
            Command::Open(e) => {
                self.stack.truncate(1);
                self.open(e, None);
            }
            Command::Totp => self.open_totp(),
        }
    }

    /// `:import [FILE]` / `:export [FILE]` on the domains, mailboxes or
    /// aliases screen: the form, pre-filled.
    fn csv_form(&mut self, export: bool, file: &str) {
        let verb = if export { "export" } else { "import" };
        let Some(Screen::Table(t)) = self.stack.last() else {
            self.status = Some((
                format!("open the domains, mailboxes or aliases screen first; :{verb} works on its table"),
                true,
            ));
            return;
        };
        let table = t.resource;
        if !table.csv() {
            self.status = Some((
                format!(
                    "{} rows have no CSV form; use the domains, mailboxes or aliases screen",
                    table.noun()
                ),
                true,
            ));
            return;
        }
        let file = file.trim();
        self.modal = Some(Modal::Form(if !export {
            forms::import(table, file)
        } else {
            // A placeholder naming the default, not a value typing would
            // append to.
            let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
            let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
            let default = format!("{home}/postfix-manager-{}-{stamp}.csv", table.plural());
            let admin = self
                .session
                .as_ref()
                .is_some_and(|s| s.role == crate::model::Role::Admin);
            forms::export(table, t.export_filter(), file, &default, admin)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_candidate() {
        assert_eq!(completions("mail"), vec!["mailboxes", "mail-servers"]);
        assert_eq!(completions("mai").len(), 3, "and maintain");
        assert_eq!(completions("alias-"), vec!["alias-domains"]);
        assert!(completions("zzz").is_empty());
    }

    #[test]
    fn commands_resolve_by_name_alias_and_unique_prefix() {
        assert_eq!(screen("mailboxes"), Some(Entity::Mailboxes));
        assert_eq!(screen("mail"), None, "mailboxes or mail-servers");
        assert_eq!(screen("mailb"), Some(Entity::Mailboxes));
        assert_eq!(screen("alias"), None, "aliases or alias-domains");
        assert_eq!(screen("admins"), Some(Entity::Users));
        assert_eq!(screen("nonsense"), None);
    }

    #[test]
    fn every_word_parses_to_what_it_says() {
        assert_eq!(parse(""), Ok(Command::Nothing));
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse("home"), Ok(Command::Dashboard));
        assert_eq!(parse("vacuum"), Ok(Command::Maintain { vacuum: true }));
        assert_eq!(
            parse("export ~/x.csv"),
            Ok(Command::Csv {
                export: true,
                file: "~/x.csv".into()
            })
        );
        assert_eq!(parse("perms"), Ok(Command::Open(Entity::Permissions)));
        for e in Entity::ALL {
            assert_eq!(parse(e.command()), Ok(Command::Open(e)), "{e:?}");
        }
        assert!(parse("mail").unwrap_err().contains("could be mailboxes"));
        for w in HELP_COMMANDS {
            assert!(words().contains(&w), "{w}");
        }
    }
}
