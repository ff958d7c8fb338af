//! The schema's migrations, compiled into the binary.
//!
//! Why not `sqlx::migrate!`: that macro pulls sqlx's proc-macro crate, which
//! builds sqlx's SQLite (with its C library) and PostgreSQL drivers a second
//! time for the compiler's host: about two minutes of a newcomer's first
//! build (docs/BUILD.md). The list below is what the macro would have
//! produced: the same versions, descriptions and SQL, hence the same
//! checksums in `_sqlx_migrations` (SHA-384 of the SQL, computed by
//! `Migration::new`), so databases migrated by earlier builds stay valid.
//! A test checks that the list and the directories hold the same files.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Lists each migration's file name once and embeds it for both backends.
macro_rules! migrations {
    ($($file:literal),* $(,)?) => {
        /// File names, in version order.
        pub const FILES: &[&str] = &[$($file),*];
        const SQLITE_SQL: &[&str] = &[$(include_str!(concat!("../../../migrations/sqlite/", $file))),*];
        const POSTGRES_SQL: &[&str] = &[$(include_str!(concat!("../../../migrations/postgres/", $file))),*];
    };
}

migrations![
    "0001_foundation.sql",
    "0002_grants.sql",
    "0003_audit_chain.sql",
    "0004_applicants.sql",
    "0005_worklist_scope.sql",
    "0006_renditions.sql",
    "0007_agent_sessions.sql",
    "0008_upload_keys.sql",
    "0009_sealed_member.sql",
    "0010_scanner_agents.sql",
    "0011_grant_purpose.sql",
    "0012_signin.sql",
    "0013_radiation_warnings.sql",
    "0014_purge.sql",
    "0015_notices.sql",
    "0016_version_marks.sql",
    "0017_digests.sql",
    "0018_merges.sql",
    "0019_expected_kinds.sql",
    "0020_scrub.sql",
    "0021_audit_request.sql",
    "0022_territory_order.sql",
    "0023_foreign_key_indexes.sql",
    "0024_daily_traces.sql",
];

pub static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator(SQLITE_SQL));
pub static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator(POSTGRES_SQL));

fn migrator(sql: &'static [&'static str]) -> Migrator {
    let migrations = FILES.iter().zip(sql).map(|(file, sql)| {
        let (version, description) = split_name(file);
        // sqlx's own rule: a file starting with this comment runs outside a
        // transaction.
        let no_tx = sql.starts_with("-- no-transaction");
        Migration::new(version, Cow::Owned(description), MigrationType::Simple, Cow::Borrowed(sql), no_tx)
    });
    Migrator { migrations: Cow::Owned(migrations.collect()), ..Migrator::DEFAULT }
}

/// `0003_audit_chain.sql` → (3, "audit chain"), as sqlx names it.
fn split_name(file: &str) -> (i64, String) {
    let (version, rest) = file.split_once('_').unwrap_or((file, ""));
    // FILES is a literal list checked by the test below; a bad name is a
    // build mistake, not an input.
    let version = version.parse().unwrap_or_else(|_| panic!("migration {file:?} has no numeric version"));
    (version, rest.trim_end_matches(".sql").replace('_', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_every_file_of_both_directories() {
        for backend in ["sqlite", "postgres"] {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/").to_owned() + backend;
            let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
                .expect("migrations directory")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, FILES, "{dir} and db::migrations::FILES differ");
        }
    }

    #[test]
    fn names_parse_as_sqlx_does() {
        assert_eq!(split_name("0003_audit_chain.sql"), (3, "audit chain".to_owned()));
        let m = &SQLITE.migrations;
        assert_eq!(m.len(), FILES.len());
        assert!(m.windows(2).all(|w| w[0].version < w[1].version), "versions in order");
    }
}
