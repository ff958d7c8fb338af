//! Whole-database operations for backup and restore: an online copy of
//! the embedded SQLite database, and whether a PostgreSQL database is empty.

use std::path::Path;

use super::Db;
use crate::error::Error;

impl Db {
    /// Copies the embedded SQLite database to `target`, consistent while
    /// the vault keeps serving (`VACUUM INTO`).
    pub async fn copy_sqlite_to(&self, target: &Path) -> Result<(), Error> {
        sqlx::query("VACUUM INTO $1").bind(target.display().to_string()).execute(&self.pool).await?;
        Ok(())
    }

    /// How many tables the PostgreSQL database's `public` schema holds (a
    /// restore goes only into an empty one).
    pub async fn public_tables(&self) -> Result<i64, Error> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
