//! The audit journal (first form: one row per event, written in the same
//! transaction as what it records; the hash chain comes with the policy work).

use uuid::Uuid;

use super::{Db, Tx, now_ms};
use crate::error::Error;

/// One audit event. Ids only: never document content or personal data.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent<'a> {
    pub agent: Option<Uuid>,
    pub organisation: Option<Uuid>,
    pub action: &'a str,
    pub dossier: Option<Uuid>,
    pub piece: Option<Uuid>,
    pub version: Option<Uuid>,
    pub outcome: &'a str,
}

impl Db {
    pub(crate) async fn record_in(tx: &mut Tx, e: &AuditEvent<'_>) -> Result<(), Error> {
        let s = |u: Option<Uuid>| u.map(|u| u.to_string());
        sqlx::query(
            "INSERT INTO audit_events (at, agent_id, organisation_id, action, dossier_id, piece_id, version_id, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(now_ms())
        .bind(s(e.agent))
        .bind(s(e.organisation))
        .bind(e.action)
        .bind(s(e.dossier))
        .bind(s(e.piece))
        .bind(s(e.version))
        .bind(e.outcome)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records an event on its own, committed before this returns (reads are
    /// traced before the first byte leaves).
    pub async fn record(&self, e: &AuditEvent<'_>) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        Self::record_in(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn audit_count(&self, dossier: Uuid, action: &str) -> Result<i64, Error> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE dossier_id = $1 AND action = $2")
            .bind(dossier.to_string())
            .bind(action)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}
