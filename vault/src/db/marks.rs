//! Marks on versions (inexploitable, hors périmètre, obsolète): appended,
//! never changed; the latest of a version is the one that stands.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, now_ms, opt_uuid_col, parsed, uuid_col};
use crate::{
    db::audit::AuditEvent,
    domain::{
        VersionMark,
        journal::{Actor, Recorded},
    },
    error::Error,
};

#[derive(Debug, Clone)]
pub struct NewMark {
    pub id: Uuid,
    pub dossier: Uuid,
    pub piece: Uuid,
    pub version: Uuid,
    pub mark: VersionMark,
    /// The reason, sealed under the dossier key (record id = `id`).
    pub sealed_reason: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct MarkRow {
    pub id: Uuid,
    pub version: Uuid,
    pub mark: VersionMark,
    pub sealed_reason: Vec<u8>,
    pub marked_by_org: Option<Uuid>,
    pub created_at: i64,
}

impl Db {
    /// Records a mark and its journal event (on the version), in one
    /// transaction.
    pub async fn mark_version(&self, m: &NewMark, by: Actor) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO version_marks (id, dossier_id, version_id, mark, sealed_reason, marked_by_agent, \
             marked_by_org, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id.to_string())
        .bind(m.dossier.to_string())
        .bind(m.version.to_string())
        .bind(m.mark.as_str())
        .bind(m.sealed_reason.clone())
        .bind(by.agent.map(|a| a.to_string()))
        .bind(by.organisation.map(|o| o.to_string()))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(by, Recorded::VersionMarked).on(m.dossier).of_version(m.piece, m.version);
        Self::record_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The marks of a dossier's versions, oldest first.
    pub async fn marks_of(&self, dossier: Uuid) -> Result<Vec<MarkRow>, Error> {
        let rows = sqlx::query(
            "SELECT id, version_id, mark, sealed_reason, marked_by_org, created_at FROM version_marks \
             WHERE dossier_id = $1 ORDER BY created_at, id",
        )
        .bind(dossier.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MarkRow {
                    id: uuid_col(r, "id")?,
                    version: uuid_col(r, "version_id")?,
                    mark: parsed(r, "mark", VersionMark::parse)?,
                    sealed_reason: r.try_get("sealed_reason")?,
                    marked_by_org: opt_uuid_col(r, "marked_by_org")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The pieces of these dossiers whose current version stands marked
    /// (a newer version replaced any marked one): (dossier, piece, kind,
    /// the latest mark), one row per piece.
    pub async fn marked_current_pieces(
        &self,
        dossiers: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid, crate::domain::PieceKind, VersionMark)>, Error> {
        let rows = self
            .fetch_for_ids(
                "SELECT p.dossier_id, p.id AS piece_id, p.kind, m.mark, m.created_at FROM version_marks m \
                 JOIN piece_versions v ON v.id = m.version_id JOIN pieces p ON p.id = v.piece_id \
                 WHERE m.dossier_id IN ({ids}) \
                 AND v.number = (SELECT MAX(v2.number) FROM piece_versions v2 WHERE v2.piece_id = v.piece_id) \
                 ORDER BY m.created_at, m.id",
                dossiers,
            )
            .await?;
        let mut latest: std::collections::BTreeMap<(Uuid, Uuid), (crate::domain::PieceKind, VersionMark)> =
            std::collections::BTreeMap::new();
        for r in &rows {
            let kind = parsed(r, "kind", crate::domain::PieceKind::parse)?;
            let mark = parsed(r, "mark", VersionMark::parse)?;
            latest.insert((uuid_col(r, "dossier_id")?, uuid_col(r, "piece_id")?), (kind, mark));
        }
        Ok(latest.into_iter().map(|((d, p), (k, m))| (d, p, k, m)).collect())
    }
}
