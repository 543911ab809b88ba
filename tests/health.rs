//! `health` answers like a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL.

mod common;

use std::process::Command;

use diesel::prelude::*;
use postfix_manager::db::schema::mail_server_configs;

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn health(url: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    // The default config (and the audit key and checkpoints beside it) in a
    // home of its own: never the real ~/.config another test may have used.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env_remove("POSTFIX_MANAGER_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .args(["--database-url", url, "--json", "health"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

fn status_of<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
}

on_both_backends!(states_and_exit_codes, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let url = t.url_string();
    let (code, v) = health(&url, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(status_of(&v, "backup"), "WARNING");
    assert_eq!(status_of(&v, "migrations"), "OK");
    // replication (issue 23 item 5): nothing to replicate on SQLite; the
    // shared PostgreSQL server is a primary without replicas
    // (tests/pg_replica.rs starts one with a replica)
    assert_eq!(status_of(&v, "replication"), "OK", "{v}");
    let replication = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "replication")
        .unwrap()["message"]
        .clone();
    let expected = if t.name == "sqlite" {
        "not applicable: a single SQLite file"
    } else {
        "primary, no streaming replicas connected"
    };
    assert_eq!(replication, expected);
    assert!(v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t[0] == "users" && t[1] == 1));

    let dir = tempfile::tempdir().unwrap();
    postfix_manager::ops::maintenance::backup(&mut c, &admin, &t.url, &dir.path().join("b"))
        .unwrap();
    let (code, v) = health(&url, &["--verify-audit"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(status_of(&v, "audit chain"), "OK");

    // a stored config that no longer matches its file is a warning
    let file = dir.path().join("main.cf");
    std::fs::write(&file, "myhostname = a\n").unwrap();
    diesel::insert_into(mail_server_configs::table)
        .values((
            mail_server_configs::service_name.eq("postfix"),
            mail_server_configs::config_file.eq(file.to_str().unwrap()),
            mail_server_configs::config_data.eq("myhostname = b\n"),
            mail_server_configs::created_at.eq(chrono::Utc::now().naive_utc()),
            mail_server_configs::updated_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(&mut c)
        .unwrap();
    let (code, v) = health(&url, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(status_of(&v, "mail configs"), "WARNING");
    std::fs::write(&file, "myhostname = b\n").unwrap();
    assert_eq!(health(&url, &[]).0, 0);

    // pending migrations are critical
    postfix_manager::db::migrate::revert_last(&mut c).unwrap();
    let (code, v) = health(&url, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(status_of(&v, "migrations"), "CRITICAL");
});

#[test]
fn an_unreachable_database_is_critical() {
    let (code, v) = health("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(status_of(&v, "database"), "CRITICAL");
}
