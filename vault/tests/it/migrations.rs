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
