//! What a restore candidate must be before it may replace the live
//! database: a migration history this binary knows (a prefix of its own
//! migrations), and exactly the schema objects those migrations create,
//! with the same definitions, nothing more and nothing less. The expected
//! list is not written down anywhere: it is read from a scratch database
//! migrated with the embedded migrations, so it cannot drift from them.
//! (The audit chain and the admin check are the caller's, see
//! `backup::Validate`.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{connect, migrate, pgtools, AnyConnection, DbError, DbUrl};

/// Schema objects by (kind, name), with their definitions.
pub type Objects = BTreeMap<(String, String), String>;

#[derive(QueryableByName)]
struct Object {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// SQLite's own tables (sqlite_sequence, sqlite_stat1 after ANALYZE, the
/// automatic indexes of UNIQUE constraints) are SQLite's, not ours.
const SQLITE_OBJECTS: &str = r"SELECT type AS kind, name, COALESCE(sql, '') AS def
    FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'";

/// Everything in the non-system schemas that can hold data or run code:
/// schemas, extensions, tables with their columns, views, sequences,
/// indexes, constraints, triggers (and whether enabled), functions, rules,
/// row-level-security policies, types, and event triggers.
const PG_OBJECTS: &str = r"
WITH ns AS (SELECT oid, nspname::text AS nspname FROM pg_namespace
            WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema')
SELECT 'schema'::text AS kind, nspname AS name, ''::text AS def FROM ns
UNION ALL
SELECT 'extension', extname::text, extversion::text FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
         WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
         WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'type' END,
       ns.nspname || '.' || c.relname::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid)
            WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid)
            ELSE COALESCE((SELECT string_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod)
                                 || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                                 || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
                                 ', ' ORDER BY a.attnum)
                           FROM pg_attribute a
                           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
                 || CASE WHEN c.relrowsecurity THEN ' ROW LEVEL SECURITY' ELSE '' END
       END
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I', 'c')
UNION ALL
SELECT 'constraint', ns.nspname || '.' || cl.relname::text || '.' || co.conname::text,
       pg_get_constraintdef(co.oid)
FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN ns ON ns.oid = cl.relnamespace
UNION ALL
SELECT 'trigger', ns.nspname || '.' || cl.relname::text || '.' || t.tgname::text,
       pg_get_triggerdef(t.oid) || ' ENABLED ' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid JOIN ns ON ns.oid = cl.relnamespace
WHERE NOT t.tgisinternal
UNION ALL
SELECT 'function', ns.nspname || '.' || p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE 'kind ' || p.prokind::text END
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
UNION ALL
SELECT 'rule', schemaname::text || '.' || tablename::text || '.' || rulename::text, definition
FROM pg_rules WHERE schemaname::text IN (SELECT nspname FROM ns)
UNION ALL
SELECT 'policy', schemaname::text || '.' || tablename::text || '.' || policyname::text,
       COALESCE(qual, '') || ' / ' || COALESCE(with_check, '')
FROM pg_policies WHERE schemaname::text IN (SELECT nspname FROM ns)
UNION ALL
SELECT 'type', ns.nspname || '.' || t.typname::text, t.typtype::text
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r', 'm')
UNION ALL
SELECT 'event trigger', evtname::text, evtevent::text || ' ' || evtfoid::regprocedure::text || ' ' || evtenabled::text
FROM pg_event_trigger";

/// Drops every object of the live `public` schema, so the validated dump
/// replayed after it (in the same transaction) leaves exactly its own
/// objects (extensions stay: the dump creates them IF NOT EXISTS, and
/// their members are theirs to drop). The names are collected before the first drop: a CASCADE may
/// remove later ones, hence IF EXISTS.
pub const PG_DROP_PUBLIC: &str = r"DO $pm$
DECLARE q text;
BEGIN
  FOR q IN SELECT unnest(ARRAY(
      SELECT format('DROP %s IF EXISTS %s CASCADE',
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
               c.oid::regclass)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      UNION ALL
      SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      UNION ALL
      SELECT format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e'))) LOOP
    EXECUTE q;
  END LOOP;
END $pm$;";

/// The schema objects of the database `conn` is on.
pub fn objects(conn: &mut AnyConnection) -> Result<Objects, DbError> {
    let query = match conn {
        AnyConnection::Sqlite(_) => SQLITE_OBJECTS,
        AnyConnection::Postgresql(_) => PG_OBJECTS,
    };
    let rows: Vec<Object> = diesel::sql_query(query).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|o| {
            let def = o.def.split_whitespace().collect::<Vec<_>>().join(" ");
            ((o.kind, o.name), def)
        })
        .collect())
}

/// How `found` differs from `expected`, one phrase per object; empty when
/// they are the same.
pub fn differences(found: &Objects, expected: &Objects) -> Vec<String> {
    let mut out = Vec::new();
    for ((kind, name), def) in found {
        match expected.get(&(kind.clone(), name.clone())) {
            None => out.push(format!("unexpected {kind} {name}")),
            Some(want) if want != def => out.push(format!(
                "{kind} {name} differs from this binary's definition"
            )),
            Some(_) => {}
        }
    }
    for (kind, name) in expected.keys() {
        if !found.contains_key(&(kind.clone(), name.clone())) {
            out.push(format!("missing {kind} {name}"));
        }
    }
    // What holds data or runs code first; indexes and constraints follow
    // (a dropped table takes a dozen of them with it).
    let rank = |d: &String| {
        ["index ", "constraint ", "sequence "]
            .iter()
            .position(|k| d.contains(k))
            .map_or(0, |i| i + 1)
    };
    out.sort_by_key(rank);
    out
}

/// Check the candidate `conn` is on: its migration history and its schema.
/// `pg` is the live connection and URL on PostgreSQL (the expected schema
/// is built in a scratch database beside it). Returns the number of this
/// binary's migrations the candidate does not have yet.
pub fn check(
    conn: &mut AnyConnection,
    pg: Option<(&mut AnyConnection, &str)>,
) -> Result<usize, String> {
    let state =
        migrate::status(conn).map_err(|e| format!("cannot read its migration history: {e}"))?;
    let unknown: Vec<&str> = state
        .iter()
        .filter(|m| m.name.ends_with("(unknown to this binary)"))
        .map(|m| m.version.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "its migration history has versions this binary does not know ({}): it comes from a newer postfix-manager, or was edited",
            unknown.join(", ")
        ));
    }
    let applied: Vec<String> = state
        .iter()
        .filter(|m| m.applied)
        .map(|m| m.version.clone())
        .collect();
    if applied.is_empty() {
        return Err(
            "it has no migration history: not a postfix-manager database (an empty file?)".into(),
        );
    }
    // Migrations apply in order; a gap means the history was edited.
    if let Some(gap) = state.iter().take(applied.len()).find(|m| !m.applied) {
        return Err(format!(
            "its migration history skips {} but has later ones: it was edited",
            gap.name
        ));
    }
    let expected = match pg {
        None => {
            let mut scratch = AnyConnection::Sqlite(
                diesel::SqliteConnection::establish(":memory:")
                    .map_err(|e| format!("opening a scratch database: {e}"))?,
            );
            migrate::run_exactly(&mut scratch, &applied).map_err(|e| e.to_string())?;
            objects(&mut scratch).map_err(|e| e.to_string())?
        }
        Some((live, url)) => pg_expected(live, url, &applied).map_err(|e| e.to_string())?,
    };
    let found = objects(conn).map_err(|e| format!("cannot list its schema: {e}"))?;
    let diff = differences(&found, &expected);
    if !diff.is_empty() {
        const SHOWN: usize = 12;
        let more = diff.len().saturating_sub(SHOWN);
        let mut list = diff.into_iter().take(SHOWN).collect::<Vec<_>>().join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        return Err(format!(
            "its schema is not what this binary's migrations create: {list}"
        ));
    }
    Ok(state.iter().filter(|m| !m.applied).count())
}

/// The objects a PostgreSQL database migrated to `applied` has once it
/// went through pg_dump and psql, as every candidate did: the server
/// prints some expressions (CHECK ... IN lists) differently after one such
/// round trip, and the same from then on.
fn pg_expected(
    live: &mut AnyConnection,
    url: &str,
    applied: &[String],
) -> Result<Objects, DbError> {
    let migrated = Scratch::create(live, url, "expect")?;
    {
        let mut c = connect(&DbUrl::Postgres(migrated.url.clone()), false)?;
        migrate::run_exactly(&mut c, applied)?;
    }
    let dir = tempfile::Builder::new()
        .prefix(".pm-expect-")
        .tempdir()
        .map_err(|e| DbError::Migration(format!("creating a temporary directory: {e}")))?;
    let dump = dir.path().join("expected.sql");
    pgtools::pg_dump(&migrated.url, &dump, false)?;
    drop(migrated);
    let loaded = Scratch::create(live, url, "expect")?;
    pgtools::psql(&loaded.url, &["--single-transaction"], &[], Some(&dump))?;
    let mut c = connect(&DbUrl::Postgres(loaded.url.clone()), false)?;
    objects(&mut c)
}

static SCRATCH_SEQ: AtomicU32 = AtomicU32::new(0);

/// A scratch PostgreSQL database on the live server, dropped when this
/// value drops. Creating it needs the CREATEDB privilege.
pub struct Scratch {
    pub name: String,
    pub url: String,
    live_url: String,
}

impl Scratch {
    pub fn create(live: &mut AnyConnection, live_url: &str, tag: &str) -> Result<Scratch, DbError> {
        let name = format!(
            "pm_{tag}_{}_{}",
            std::process::id(),
            SCRATCH_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        live.batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .map_err(|e| {
                DbError::Migration(format!(
                    "creating the scratch database {name} (the role needs CREATEDB): {e}"
                ))
            })?;
        Ok(Scratch {
            url: with_database(live_url, &name),
            name,
            live_url: live_url.to_string(),
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::PgConnection::establish(&self.live_url) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `url` naming database `name` instead (host, user, password and
/// parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (head, query) = rest.split_at(query_at);
    let host_from = head.rfind('@').map(|i| i + 1).unwrap_or(0);
    let authority_end = head[host_from..]
        .find('/')
        .map(|i| host_from + i)
        .unwrap_or(head.len());
    format!("{scheme}://{}/{name}{query}", &head[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_nothing_else() {
        assert_eq!(
            with_database("postgres://u:p/w@h:5432/live?sslmode=require", "s"),
            "postgres://u:p/w@h:5432/s?sslmode=require"
        );
        assert_eq!(with_database("postgres://h", "s"), "postgres://h/s");
    }
}
