//! Merging two numbers into one (CCH R.441-2-8 (f)): in one transaction
//! the absorbed dossier is radiated for `fusion`, its pieces, versions and
//! marks move to the kept dossier with what was re-sealed under the kept
//! key, the kept dossier takes the older deposit date, and the link that
//! joins the two histories is written; the absorbed demand's notices not
//! yet sent are withdrawn. The re-sealed objects are stored
//! before; the absorbed ones are removed after (orphans for `gc` if not).

use time::Date;
use uuid::Uuid;

use super::{Db, audit::AuditEvent, date_to_sql, now_ms, parsed, placeholders, uuid_col};
use crate::{
    domain::{
        NumeroUnique, RadiationReason,
        journal::{Actor, Recorded},
    },
    error::Error,
};

/// A new object of the kept dossier (a re-sealed copy).
#[derive(Debug, Clone)]
pub struct CopiedObject {
    pub id: Uuid,
    pub role: &'static str,
    pub stored_len: u64,
}

/// A version moved to the kept dossier, with its re-sealed objects.
#[derive(Debug, Clone)]
pub struct MovedVersion {
    pub id: Uuid,
    pub object_id: Uuid,
    pub rendition: Option<Uuid>,
    pub thumbnail: Option<Uuid>,
    pub fingerprint: Vec<u8>,
    pub sealed_meta: Vec<u8>,
}

/// Everything a merge writes.
#[derive(Debug, Clone)]
pub struct Merge {
    pub kept: Uuid,
    pub absorbed: Uuid,
    pub on: Date,
    /// The older of the two deposit dates (the seniority kept).
    pub deposited_on: Date,
    /// The later of the two validity ends.
    pub valid_until: Date,
    pub objects: Vec<CopiedObject>,
    /// Each moved piece with its member name re-sealed (`None`: none).
    pub pieces: Vec<(Uuid, Option<Vec<u8>>)>,
    pub versions: Vec<MovedVersion>,
    /// Versions whose bytes the kept dossier already holds: stored once,
    /// so these rows go (with their marks), and a piece left empty too.
    pub dropped: Vec<Uuid>,
    /// Marks of moved versions, their reasons re-sealed.
    pub marks: Vec<(Uuid, Vec<u8>)>,
}

impl Db {
    /// Writes `m`; false (nothing written) when either dossier stopped
    /// being active meanwhile, or the absorbed one gained a version since
    /// it was read (the caller reads and tries again).
    pub async fn merge_dossiers(&self, m: &Merge, by: Actor) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let (kept, absorbed) = (m.kept.to_string(), m.absorbed.to_string());
        let radiated = sqlx::query(
            "UPDATE dossiers SET status = 'radiated', radiated_on = $2, radiation_reason = $3 \
             WHERE id = $1 AND status = 'active' AND shredded_at IS NULL",
        )
        .bind(&absorbed)
        .bind(date_to_sql(m.on))
        .bind(RadiationReason::Fusion.as_str())
        .execute(&mut *tx)
        .await?;
        let updated = sqlx::query(
            "UPDATE dossiers SET deposited_on = $2, valid_until = $3 \
             WHERE id = $1 AND status = 'active' AND shredded_at IS NULL",
        )
        .bind(&kept)
        .bind(date_to_sql(m.deposited_on))
        .bind(date_to_sql(m.valid_until))
        .execute(&mut *tx)
        .await?;
        let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM piece_versions WHERE dossier_id = $1")
            .bind(&absorbed)
            .fetch_one(&mut *tx)
            .await?;
        let planned = i64::try_from(m.versions.len() + m.dropped.len()).unwrap_or(i64::MAX);
        if radiated.rows_affected() != 1 || updated.rows_affected() != 1 || versions != planned {
            return Ok(false);
        }
        for o in &m.objects {
            Self::insert_object(&mut tx, o.id, m.kept, o.role, o.stored_len).await?;
        }
        // The absorbed dossier accepts no upload any more: its retry keys go.
        sqlx::query("DELETE FROM upload_keys WHERE dossier_id = $1").bind(&absorbed).execute(&mut *tx).await?;
        if !m.dropped.is_empty() {
            let list = placeholders(1, m.dropped.len());
            for sql in [
                format!("DELETE FROM version_marks WHERE version_id IN ({list})"),
                format!("DELETE FROM piece_versions WHERE id IN ({list})"),
            ] {
                let mut q = sqlx::query(&sql);
                for id in &m.dropped {
                    q = q.bind(id.to_string());
                }
                q.execute(&mut *tx).await?;
            }
        }
        for (id, sealed_reason) in &m.marks {
            sqlx::query("UPDATE version_marks SET dossier_id = $2, sealed_reason = $3 WHERE id = $1")
                .bind(id.to_string())
                .bind(&kept)
                .bind(sealed_reason.clone())
                .execute(&mut *tx)
                .await?;
        }
        for v in &m.versions {
            sqlx::query(
                "UPDATE piece_versions SET dossier_id = $2, object_id = $3, rendition_object_id = $4, \
                 thumbnail_object_id = $5, fingerprint = $6, sealed_meta = $7 WHERE id = $1",
            )
            .bind(v.id.to_string())
            .bind(&kept)
            .bind(v.object_id.to_string())
            .bind(v.rendition.map(|u| u.to_string()))
            .bind(v.thumbnail.map(|u| u.to_string()))
            .bind(v.fingerprint.clone())
            .bind(v.sealed_meta.clone())
            .execute(&mut *tx)
            .await?;
        }
        for (id, member) in &m.pieces {
            sqlx::query("UPDATE pieces SET dossier_id = $2, member_sealed = $3, member = NULL WHERE id = $1")
                .bind(id.to_string())
                .bind(&kept)
                .bind(member.clone())
                .execute(&mut *tx)
                .await?;
        }
        // Pieces whose every version the kept dossier already held.
        sqlx::query(
            "DELETE FROM pieces WHERE dossier_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM piece_versions v WHERE v.piece_id = pieces.id)",
        )
        .bind(&absorbed)
        .execute(&mut *tx)
        .await?;
        // The absorbed originals, renditions and thumbnails no row names now.
        sqlx::query(
            "DELETE FROM objects WHERE dossier_id = $1 AND role IN ('original', 'rendition', 'thumbnail') \
             AND NOT EXISTS (SELECT 1 FROM piece_versions v WHERE v.object_id = objects.id \
             OR v.rendition_object_id = objects.id OR v.thumbnail_object_id = objects.id)",
        )
        .bind(&absorbed)
        .execute(&mut *tx)
        .await?;
        // What was still to be sent about the absorbed demand (a renewal
        // notice, a warning) no longer holds: withdrawn, kept for the record.
        sqlx::query(
            "UPDATE notices SET gave_up_at = $2, last_error = 'withdrawn: the demand was merged into another', \
             claimed_until = NULL WHERE dossier_id = $1 AND sent_at IS NULL AND gave_up_at IS NULL",
        )
        .bind(&absorbed)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        // The communes wished in either demand.
        sqlx::query(
            "INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) \
             SELECT $1, c.commune, c.departement, k.numero_unique FROM dossier_communes c, dossiers k \
             WHERE c.dossier_id = $2 AND k.id = $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind(&kept)
        .bind(&absorbed)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO dossier_merges (absorbed_id, kept_id, merged_on, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&absorbed)
            .bind(&kept)
            .bind(date_to_sql(m.on))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let events = [
            AuditEvent::new(by, Recorded::Merged).on(m.kept),
            AuditEvent::new(by, policies::Action::DossierRadiate).on(m.absorbed),
        ];
        Self::record_many_in(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The number a dossier was merged into, if it was.
    pub async fn merged_into(&self, dossier: Uuid) -> Result<Option<NumeroUnique>, Error> {
        let row = sqlx::query(
            "SELECT d.numero_unique FROM dossier_merges m JOIN dossiers d ON d.id = m.kept_id WHERE m.absorbed_id = $1",
        )
        .bind(dossier.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| parsed(&r, "numero_unique", NumeroUnique::parse)).transpose()
    }

    /// The dossiers merged into `kept` (their history is part of its trace).
    pub async fn absorbed_by(&self, kept: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows = sqlx::query("SELECT absorbed_id FROM dossier_merges WHERE kept_id = $1 ORDER BY created_at")
            .bind(kept.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| uuid_col(r, "absorbed_id")).collect()
    }
}
