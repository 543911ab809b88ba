//! postfix-manager: a terminal console for a Postfix + Dovecot virtual-mail
//! host whose data lives in SQL. See docs/architecture.md for the map.

pub mod cli;
pub mod config;
pub mod csvfile;
pub mod csvio;
pub mod db;
pub mod dkim;
pub mod error;
pub mod health;
pub mod ldap;
pub mod mail;
pub mod model;
pub mod ops;
pub mod password;
pub mod paths;
pub mod plural;
pub mod sanitize;
pub mod secrets;
pub mod sheet;
pub mod store;
pub mod timefmt;
pub mod tui;
pub mod units;
pub mod validate;
pub mod worker;
