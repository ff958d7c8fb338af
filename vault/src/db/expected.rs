//! The pieces an applicant's situation calls for (`dossier_expected_kinds`),
//! and completeness as SQL: the worklist filters on it and lists it without
//! opening any dossier. `domain::completeness` says the same in Rust for
//! one dossier; `complete_predicate` must keep its rules (a piece counts
//! when its latest version is unflagged and it has not expired; undated
//! pieces count).

use std::collections::HashSet;

use time::Date;
use uuid::Uuid;

use super::{Db, Tx, audit::AuditEvent, uuid_col};
use crate::{
    domain::{
        PieceKind,
        journal::{Actor, Recorded},
    },
    error::Error,
};

/// SQL that holds when the dossier whose id is `dossier` (a column) is
/// complete on `today` (a placeholder bound to an ISO date), `required`
/// being the placeholder of the kind every dossier needs.
pub(super) fn complete_predicate(dossier: &str, required: &str, today: &str) -> String {
    format!(
        "NOT EXISTS (
           SELECT 1 FROM (SELECT CAST({required} AS TEXT) AS kind
                          UNION SELECT x.kind FROM dossier_expected_kinds x WHERE x.dossier_id = {dossier}) k
           WHERE NOT EXISTS (
             SELECT 1 FROM pieces p JOIN piece_versions v ON v.piece_id = p.id
             WHERE p.dossier_id = {dossier} AND p.kind = k.kind
               AND (p.valid_until IS NULL OR p.valid_until >= {today})
               AND v.number = (SELECT MAX(w.number) FROM piece_versions w WHERE w.piece_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM version_marks m WHERE m.version_id = v.id)))"
    )
}

impl Db {
    /// The kinds declared for the dossier, in catalogue code order.
    pub async fn expected_kinds_of(&self, dossier: Uuid) -> Result<Vec<PieceKind>, Error> {
        let rows = sqlx::query("SELECT kind FROM dossier_expected_kinds WHERE dossier_id = $1 ORDER BY kind")
            .bind(dossier.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| super::parsed(r, "kind", PieceKind::parse)).collect()
    }

    /// Declares the kinds again, with the journal event, in one transaction.
    pub async fn replace_expected_kinds(&self, dossier: Uuid, kinds: &[PieceKind], by: Actor) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM dossier_expected_kinds WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .execute(&mut *tx)
            .await?;
        Self::insert_expected_kinds(&mut tx, dossier, kinds).await?;
        Self::record_in(&mut tx, &AuditEvent::new(by, Recorded::ExpectedChanged).on(dossier)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn insert_expected_kinds(tx: &mut Tx, dossier: Uuid, kinds: &[PieceKind]) -> Result<(), Error> {
        for k in kinds {
            sqlx::query("INSERT INTO dossier_expected_kinds (dossier_id, kind) VALUES ($1, $2)")
                .bind(dossier.to_string())
                .bind(k.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Which of these dossiers are complete on `today` (a worklist page's).
    pub async fn complete_among(
        &self,
        dossiers: &[Uuid],
        required: PieceKind,
        today: Date,
    ) -> Result<HashSet<Uuid>, Error> {
        if dossiers.is_empty() {
            return Ok(HashSet::new());
        }
        let ids = super::placeholders(3, dossiers.len());
        let sql =
            format!("SELECT d.id FROM dossiers d WHERE d.id IN ({ids}) AND {}", complete_predicate("d.id", "$1", "$2"));
        let mut q = sqlx::query(&sql).bind(required.as_str()).bind(crate::clock::iso_date(today));
        for id in dossiers {
            q = q.bind(id.to_string());
        }
        q.fetch_all(self.pool()).await?.iter().map(|r| uuid_col(r, "id")).collect()
    }
}
