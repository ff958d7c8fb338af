//! The daily pass's runs: one per day across replicas. A replica claims
//! the day with a lease and renews it while it works; a replica that dies
//! leaves a lease that runs out, and the next one to try takes the day
//! over (the pass's steps are idempotent, so it resumes, never repeats).

use time::Date;

use super::{Db, date_to_sql, now_ms};
use crate::error::Error;

impl Db {
    /// Takes the day's run for `owner` until `now + lease_ms`, unless it is
    /// finished or another owner's lease still holds. `true`: this owner
    /// runs it.
    pub async fn claim_run(&self, day: Date, owner: &str, lease_ms: i64) -> Result<bool, Error> {
        let now = now_ms();
        let done = sqlx::query(
            "INSERT INTO lifecycle_runs (day, owner, lease_until) VALUES ($1, $2, $3) \
             ON CONFLICT (day) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until \
             WHERE lifecycle_runs.finished_at IS NULL \
             AND (lifecycle_runs.lease_until < $4 OR lifecycle_runs.owner = excluded.owner)",
        )
        .bind(date_to_sql(day))
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The run of `day` is done (by `owner`).
    pub async fn finish_run(&self, day: Date, owner: &str) -> Result<(), Error> {
        sqlx::query("UPDATE lifecycle_runs SET finished_at = $3 WHERE day = $1 AND owner = $2")
            .bind(date_to_sql(day))
            .bind(owner)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Whether the pass of `day` has finished.
    pub async fn run_finished(&self, day: Date) -> Result<bool, Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM lifecycle_runs WHERE day = $1 AND finished_at IS NOT NULL")
                .bind(date_to_sql(day))
                .fetch_one(self.pool())
                .await?;
        Ok(n > 0)
    }
}
