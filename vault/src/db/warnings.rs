//! Radiation warnings (CCH R.441-2-8 (c) and (d)): recorded, cancelled by
//! an answer from the applicant for (c), and looked up before a radiation.

use time::Date;
use uuid::Uuid;

use super::{Db, date_from_sql, date_to_sql, now_ms, parsed};
use crate::{
    db::audit::AuditEvent,
    domain::{
        RadiationReason,
        journal::{Actor, Recorded},
    },
    error::Error,
};

impl Db {
    /// Records a warning of `reason` given `on`, and its journal event, in
    /// one transaction. A pending warning of the same reason is kept (its
    /// month runs from the first): `Ok(false)` then, nothing added.
    pub async fn warn_radiation(
        &self,
        dossier: Uuid,
        reason: RadiationReason,
        on: Date,
        by: Actor,
    ) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let pending = sqlx::query(
            "SELECT 1 FROM radiation_warnings WHERE dossier_id = $1 AND reason = $2 AND cancelled_at IS NULL",
        )
        .bind(dossier.to_string())
        .bind(reason.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if pending.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO radiation_warnings (id, dossier_id, reason, warned_on, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(dossier.to_string())
        .bind(reason.as_str())
        .bind(date_to_sql(on))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        Self::record_in(&mut tx, &AuditEvent::new(by, Recorded::RadiationWarned).on(dossier)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The day the pending warning of `reason` was given, if one is.
    pub async fn pending_warning(&self, dossier: Uuid, reason: RadiationReason) -> Result<Option<Date>, Error> {
        let row = sqlx::query(
            "SELECT warned_on FROM radiation_warnings WHERE dossier_id = $1 AND reason = $2 AND cancelled_at IS NULL \
             ORDER BY warned_on LIMIT 1",
        )
        .bind(dossier.to_string())
        .bind(reason.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|r| parsed(r, "warned_on", date_from_sql)).transpose()
    }

    /// The applicant answered (signed in, uploaded, renewed): a pending (c)
    /// warning no longer stands. Returns how many were cancelled.
    pub async fn applicant_answered(&self, dossier: Uuid) -> Result<u64, Error> {
        let mut conn = self.pool().acquire().await?;
        Self::answered_in(&mut conn, dossier).await
    }

    /// [`Self::applicant_answered`] on a connection or in a transaction
    /// (a renewal cancels in its own).
    pub(super) async fn answered_in(conn: &mut sqlx::AnyConnection, dossier: Uuid) -> Result<u64, Error> {
        let r = sqlx::query(
            "UPDATE radiation_warnings SET cancelled_at = $1 \
             WHERE dossier_id = $2 AND reason = 'sans_reponse' AND cancelled_at IS NULL",
        )
        .bind(now_ms())
        .bind(dossier.to_string())
        .execute(conn)
        .await?;
        Ok(r.rows_affected())
    }
}
