//! The metadata store: one sqlx pool over SQLite (embedded default) or
//! PostgreSQL (production), the same SQL for both through sqlx's `Any`
//! driver. Each entity's SQL lives in its own module here and nowhere else.
//!
//! Portable subset: `$1` placeholders (SQLite accepts them), BIGINT Unix
//! milliseconds for times, ISO dates as text, UUIDs as text, BLOB/BYTEA.

pub mod agents;
pub mod applicants;
pub mod audit;
pub mod contacts;
mod daily;
pub mod dossiers;
pub mod expected;
pub mod grants;
mod journal;
pub mod keys;
mod lifecycle;
mod maintenance;
pub mod marks;
pub mod merges;
mod migrations;
pub mod notices;
pub mod objects;
pub mod orgs;
pub mod pieces;
mod purge;
pub mod scrub;
pub mod signin;
mod warnings;

use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    AnyPool, Row,
    any::{AnyPoolOptions, AnyRow},
    migrate::Migrator,
};
use uuid::Uuid;

// The children's SQL reads and writes times and dates through the clock.
use crate::clock::{iso_date as date_to_sql, now_ms, parse_iso_date as date_from_sql};
use crate::error::Error;

/// A transaction on the metadata store.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The metadata store.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Audit events waiting to share a commit (`journal`).
    journal: std::sync::Arc<journal::Journal>,
}

pub use journal::JournalStats;

/// Where a database stands with respect to this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    UpToDate,
    /// Migrations this binary has that the database lacks.
    Pending(Vec<i64>),
    /// The database has migrations this binary does not know (a newer vault
    /// migrated it).
    Newer(Vec<i64>),
}

impl Db {
    /// Connects. `create` lets SQLite create the file (embedded default).
    /// A query waits at most `timeout` for a connection: while the
    /// database is down, requests fail after that long (503), never hang.
    pub async fn connect(url: &SecretString, create: bool, timeout: std::time::Duration) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let mut url = url.expose_secret().to_owned();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        if backend == Backend::Sqlite && create && !url.contains("mode=") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL for concurrent readers, FULL so a commit that
                        // answered 201 survives power loss, secure_delete so
                        // a shredded dossier key is overwritten on disk.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA secure_delete = ON",
                        ] {
                            sqlx::Executor::execute(&mut *conn, pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot connect to the database: {e}")))?;
        Ok(Self {
            pool,
            backend,
            journal: std::sync::Arc::new(journal::Journal::new(crate::config::DEFAULT_AUDIT_BATCH)),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many batch transactions a job (the daily pass, the purge) keeps
    /// under way at once: PostgreSQL writes them side by side while the
    /// vault prepares the next; SQLite has one writer, so more would only
    /// hold connections of its small pool waiting, away from requests.
    pub fn batch_writers(&self) -> usize {
        match self.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &migrations::SQLITE,
            Backend::Postgres => &migrations::POSTGRES,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), Error> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    pub async fn migration_state(&self) -> Result<MigrationState, Error> {
        let applied: Vec<i64> =
            match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = $1 ORDER BY version")
                .bind(true)
                .fetch_all(&self.pool)
                .await
            {
                Ok(rows) => rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<_, _>>()?,
                // No migrations table yet: nothing applied.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
        let known: Vec<i64> = self.migrator().iter().map(|m| m.version).collect();
        let newer: Vec<i64> = applied.iter().filter(|v| !known.contains(v)).copied().collect();
        if !newer.is_empty() {
            return Ok(MigrationState::Newer(newer));
        }
        let pending: Vec<i64> = known.iter().filter(|v| !applied.contains(v)).copied().collect();
        Ok(if pending.is_empty() { MigrationState::UpToDate } else { MigrationState::Pending(pending) })
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`) so two writers queue on the busy timeout
    /// instead of failing when a read lock cannot be upgraded.
    pub async fn write_tx(&self) -> Result<Tx, Error> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn check(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> Result<Uuid, Error> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))
}

/// `$first, $first+1, …` for `n` values of an `IN (…)` list (the Any
/// driver has no portable array parameter).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Db {
    /// Runs `select`, whose `IN ({ids})` takes these ids, and fetches every
    /// row (none asked, none read).
    pub(crate) async fn fetch_for_ids(&self, select: &str, ids: &[Uuid]) -> Result<Vec<AnyRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = select.replace("{ids}", &placeholders(1, ids.len()));
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id.to_string());
        }
        Ok(q.fetch_all(self.pool()).await?)
    }
}

pub(crate) fn opt_uuid_col(row: &AnyRow, col: &str) -> Result<Option<Uuid>, Error> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))).transpose()
}

/// Parses a stored value through the domain type's parser; a failure means
/// the database holds something this code never wrote.
pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &AnyRow,
    col: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, Error> {
    let s: String = row.try_get(col)?;
    parse(&s).map_err(|e| Error::Database(sqlx::Error::Decode(format!("column {col}: {e}").into())))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(crate) fn from_str_col<T: FromStr>(row: &AnyRow, col: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    parsed(row, col, T::from_str)
}
