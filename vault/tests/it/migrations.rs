//! Both migration sets describe one schema: the same versions, and once
//! applied, the same tables with the same columns (types differ by engine:
//! BLOB/BYTEA, INTEGER/BIGINT).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;
use vault::{Config, Vault, app::Schema};

use crate::common::{DbKind, databases, fresh_postgres};

fn versions(engine: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(engine);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    v.sort();
    v
}

/// Table → columns of a migrated database.
async fn schema(db: DbKind) -> BTreeMap<String, BTreeSet<String>> {
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        DbKind::Sqlite => None,
        DbKind::Postgres => Some(fresh_postgres().await),
    };
    let vault = Vault::open(Config::for_tests(dir.path(), url), Schema::Migrate).await.unwrap();
    let sql = match db {
        DbKind::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
        }
        DbKind::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'"
        }
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in sqlx::query(sql).fetch_all(vault.db().pool()).await.unwrap() {
        out.entry(row.get("t")).or_default().insert(row.get("c"));
    }
    out
}

#[tokio::test]
async fn both_migration_sets_hold_the_same_versions_tables_and_columns() {
    assert_eq!(versions("sqlite"), versions("postgres"), "a migration exists for one engine only");
    assert!(versions("sqlite").len() >= 8);
    let sqlite = schema(DbKind::Sqlite).await;
    assert!(sqlite.contains_key("audit_events") && sqlite["dossiers"].contains("valid_until"), "{sqlite:?}");
    if databases().contains(&DbKind::Postgres) {
        assert_eq!(sqlite, schema(DbKind::Postgres).await, "the two schemas differ");
    }
}

/// Tables the vault deletes rows from, read from its SQL (`db/`).
fn deleted_tables() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db");
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for part in text.split("DELETE FROM ").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

/// (table, column) of each foreign key pointing at one of `targets`, and
/// the (table, column) pairs some index starts with.
async fn foreign_keys_and_indexes(
    db: DbKind,
    targets: &BTreeSet<String>,
) -> (BTreeSet<(String, String)>, BTreeSet<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        DbKind::Sqlite => None,
        DbKind::Postgres => Some(fresh_postgres().await),
    };
    let vault = Vault::open(Config::for_tests(dir.path(), url), Schema::Migrate).await.unwrap();
    let (keys, indexes) = match db {
        DbKind::Sqlite => (
            "SELECT m.name AS t, f.\"from\" AS c, f.\"table\" AS r FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table'",
            "SELECT m.name AS t, ii.name AS c FROM sqlite_master m, pragma_index_list(m.name) il, \
             pragma_index_info(il.name) ii WHERE m.type = 'table' AND ii.seqno = 0",
        ),
        DbKind::Postgres => (
            "SELECT CAST(k.conrelid::regclass AS TEXT) AS t, CAST(a.attname AS TEXT) AS c, \
             CAST(k.confrelid::regclass AS TEXT) AS r FROM pg_constraint k \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] WHERE k.contype = 'f'",
            "SELECT CAST(i.indrelid::regclass AS TEXT) AS t, CAST(a.attname AS TEXT) AS c FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             JOIN pg_namespace n ON n.oid = (SELECT relnamespace FROM pg_class WHERE oid = i.indrelid) \
             WHERE n.nspname = 'public'",
        ),
    };
    let pool = vault.db().pool();
    let keys = sqlx::query(keys)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .filter(|r| targets.contains(&r.get::<String, _>("r")))
        .map(|r| (r.get("t"), r.get("c")))
        .collect();
    let indexes =
        sqlx::query(indexes).fetch_all(pool).await.unwrap().iter().map(|r| (r.get("t"), r.get("c"))).collect();
    (keys, indexes)
}

/// A row deleted is checked against every key pointing at its table; an
/// unindexed key makes that a scan of the whole referencing table per row
/// (the purge of the national dataset never finished before 0023).
#[tokio::test]
async fn every_foreign_key_into_a_table_rows_are_deleted_from_is_indexed() {
    let targets = deleted_tables();
    assert!(targets.contains("objects") && targets.contains("piece_versions"), "{targets:?}");
    for db in databases() {
        let (keys, indexes) = foreign_keys_and_indexes(db, &targets).await;
        assert!(keys.contains(&("piece_versions".to_owned(), "rendition_object_id".to_owned())), "{db:?}: {keys:?}");
        let missing: Vec<_> = keys.difference(&indexes).collect();
        assert!(missing.is_empty(), "{db:?}: foreign keys without an index: {missing:?}");
    }
}
