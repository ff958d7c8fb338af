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

    /// Removes everything of a dossier but its tombstone, in one
    /// transaction: pieces and versions (their sealed metadata), the object
    /// registry, grants, upload keys, warnings, wished communes, contact details and
    /// notices (their sealed text), the
    /// applicant's credentials and sessions (and FranceConnect link). Its
    /// key must have been shredded first. Records the purge in the journal
    /// under the system (no agent, no organisation). `Ok(false)`: already
    /// purged, nothing done.
    pub async fn purge_metadata(&self, dossier: Uuid, on: Date) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let id = dossier.to_string();
        let marked = sqlx::query(
            "UPDATE dossiers SET purged_on = $1 WHERE id = $2 AND purged_on IS NULL AND status = 'radiated' \
             AND shredded_at IS NOT NULL",
        )
        .bind(date_to_sql(on))
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            return Ok(false);
        }
        // Children before parents (foreign keys).
        for sql in [
            "DELETE FROM applicant_sessions WHERE applicant_id IN (SELECT id FROM applicants WHERE dossier_id = $1)",
            "DELETE FROM applicants WHERE dossier_id = $1",
            "DELETE FROM upload_keys WHERE dossier_id = $1",
            "DELETE FROM version_marks WHERE dossier_id = $1",
            "DELETE FROM piece_versions WHERE dossier_id = $1",
            "DELETE FROM pieces WHERE dossier_id = $1",
            "DELETE FROM objects WHERE dossier_id = $1",
            "DELETE FROM grants WHERE dossier_id = $1",
            "DELETE FROM radiation_warnings WHERE dossier_id = $1",
            "DELETE FROM dossier_communes WHERE dossier_id = $1",
            "DELETE FROM dossier_contacts WHERE dossier_id = $1",
            "DELETE FROM notices WHERE dossier_id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
        }
        let system = Actor { agent: None, organisation: None, purpose: Purpose::Controle };
        Self::record_in(&mut tx, &AuditEvent::new(system, Recorded::Purged).on(dossier)).await?;
        tx.commit().await?;
        Ok(true)
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
