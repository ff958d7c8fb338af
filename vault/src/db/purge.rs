//! The purge, one year after radiation (décret 2017-917 art. 4): which
//! dossiers are due, and the removal of their personal metadata in one
//! transaction, leaving a tombstone.

use time::Date;
use uuid::Uuid;

use super::{Db, date_to_sql, uuid_col};
use crate::{
    db::audit::AuditEvent,
    domain::{
        Purpose,
        journal::{Actor, Recorded},
    },
    error::Error,
};

impl Db {
    /// Dossiers radiated on or before `radiated_by` and not purged yet,
    /// oldest radiation first.
    pub async fn due_for_purge(&self, radiated_by: Date) -> Result<Vec<Uuid>, Error> {
        let rows = sqlx::query(
            "SELECT id FROM dossiers WHERE status = 'radiated' AND purged_on IS NULL AND radiated_on <= $1 \
             ORDER BY radiated_on, id",
        )
        .bind(date_to_sql(radiated_by))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| uuid_col(r, "id")).collect()
    }

    /// Removes everything of these dossiers but their tombstones, in one
    /// transaction: pieces and versions (their sealed metadata) and marks,
    /// the object registry, grants, upload keys, warnings, wished communes,
    /// contact details and notices (their sealed text), the applicant's
    /// credentials and sessions (and FranceConnect link). Their keys must
    /// have been shredded first. Records each purge in the journal under
    /// the system (no agent, no organisation). Returns the dossiers purged
    /// now (one already purged, or not shredded, is left as it is).
    pub async fn purge_metadata(&self, dossiers: &[Uuid], on: Date) -> Result<Vec<Uuid>, Error> {
        if dossiers.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write_tx().await?;
        let list = super::placeholders(2, dossiers.len());
        let sql = format!(
            "UPDATE dossiers SET purged_on = $1 WHERE id IN ({list}) AND purged_on IS NULL \
             AND status = 'radiated' AND shredded_at IS NOT NULL RETURNING id"
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).bind(date_to_sql(on));
        for d in dossiers {
            q = q.bind(d.to_string());
        }
        let marked = q.fetch_all(&mut *tx).await?;
        if marked.is_empty() {
            return Ok(Vec::new());
        }
        let list = super::placeholders(1, marked.len());
        // Children before parents (foreign keys).
        for sql in [
            format!(
                "DELETE FROM applicant_sessions WHERE applicant_id IN (SELECT id FROM applicants WHERE dossier_id IN ({list}))"
            ),
            format!("DELETE FROM applicants WHERE dossier_id IN ({list})"),
            format!("DELETE FROM upload_keys WHERE dossier_id IN ({list})"),
            format!("DELETE FROM version_marks WHERE dossier_id IN ({list})"),
            format!("DELETE FROM piece_versions WHERE dossier_id IN ({list})"),
            format!("DELETE FROM pieces WHERE dossier_id IN ({list})"),
            format!("DELETE FROM objects WHERE dossier_id IN ({list})"),
            format!("DELETE FROM grants WHERE dossier_id IN ({list})"),
            format!("DELETE FROM radiation_warnings WHERE dossier_id IN ({list})"),
            format!("DELETE FROM dossier_communes WHERE dossier_id IN ({list})"),
            format!("DELETE FROM dossier_contacts WHERE dossier_id IN ({list})"),
            format!("DELETE FROM dossier_expected_kinds WHERE dossier_id IN ({list})"),
            format!("DELETE FROM notices WHERE dossier_id IN ({list})"),
            format!("DELETE FROM scrub_findings WHERE dossier_id IN ({list})"),
        ] {
            let mut q = sqlx::query(&sql);
            for id in &marked {
                q = q.bind(id.clone());
            }
            q.execute(&mut *tx).await?;
        }
        let system = Actor { agent: None, organisation: None, purpose: Purpose::Controle };
        let purged: Vec<Uuid> = marked.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
        let events: Vec<AuditEvent> = purged.iter().map(|d| AuditEvent::new(system, Recorded::Purged).on(*d)).collect();
        Self::record_many_in(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// After an erasure, makes it reach the files: on SQLite the write-ahead
    /// log is checkpointed into the database and truncated, so the pages
    /// `secure_delete` zeroed replace the old ones there and no earlier
    /// frame keeps the erased rows. PostgreSQL leaves dead rows to its
    /// vacuum, which reuses their space.
    pub async fn settle_erasure(&self) -> Result<(), Error> {
        if self.backend() == super::Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(self.pool()).await?;
        }
        Ok(())
    }
}
