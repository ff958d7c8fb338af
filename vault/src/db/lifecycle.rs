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

/// A registering organisation the digest goes to.
#[derive(Debug, Clone)]
pub struct DigestTarget {
    pub organisation: uuid::Uuid,
    pub name: String,
    pub email: String,
    /// Its active demands valid until the horizon at the latest.
    pub demands: i64,
}

impl Db {
    /// Sets (or clears) an organisation's contact address for the digest.
    pub async fn set_contact_email(
        &self,
        organisation: uuid::Uuid,
        email: Option<&crate::domain::EmailAddress>,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE organisations SET contact_email = $2 WHERE id = $1")
            .bind(organisation.to_string())
            .bind(email.map(|e| e.as_str().to_owned()))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Registering organisations with a contact address and at least one
    /// active demand valid until `horizon` at the latest, with the count.
    pub async fn digest_targets(&self, horizon: Date) -> Result<Vec<DigestTarget>, Error> {
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.contact_email, COUNT(d.id) AS demands FROM organisations o \
             JOIN dossiers d ON d.registered_by = o.id AND d.status = 'active' AND d.shredded_at IS NULL \
                            AND d.valid_until <= $1 \
             WHERE o.registering = 1 AND o.contact_email IS NOT NULL \
             GROUP BY o.id, o.name, o.contact_email ORDER BY o.id",
        )
        .bind(date_to_sql(horizon))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                use sqlx::Row;
                Ok(DigestTarget {
                    organisation: super::uuid_col(r, "id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("contact_email")?,
                    demands: r.try_get("demands")?,
                })
            })
            .collect()
    }

    /// Takes the day's digest of an organisation: `false` if it is taken.
    pub async fn claim_digest(&self, organisation: uuid::Uuid, day: Date, demands: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "INSERT INTO digests (organisation_id, day, demands, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (organisation_id, day) DO NOTHING",
        )
        .bind(organisation.to_string())
        .bind(date_to_sql(day))
        .bind(demands)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the day's digest back (it could not be sent): a later try sends it.
    pub async fn release_digest(&self, organisation: uuid::Uuid, day: Date) -> Result<(), Error> {
        sqlx::query("DELETE FROM digests WHERE organisation_id = $1 AND day = $2")
            .bind(organisation.to_string())
            .bind(date_to_sql(day))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
