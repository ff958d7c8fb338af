//! The scrubber's SQL: its findings (objects that failed re-verification)
//! and the cycle's shared cursor.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, audit::AuditEvent, now_ms, uuid_col};
use crate::{
    domain::{
        Purpose,
        journal::{Actor, Recorded},
    },
    error::Error,
};

/// Which stored object of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Original,
    Rendition,
    Thumbnail,
}

/// What was wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    /// It does not decrypt and authenticate, or its plaintext's SHA-256 is
    /// not the one sealed at upload.
    Corrupt,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Rendition => "rendition",
            Self::Thumbnail => "thumbnail",
        }
    }
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Corrupt => "corrupt",
        }
    }
}

/// One object that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub object: Uuid,
    pub dossier: Uuid,
    pub piece: Uuid,
    pub version: Uuid,
    pub part: Part,
    pub problem: Problem,
}

/// A finding as `check` lists it: with the dossier's number, the piece's
/// kind and the version's number, for the operator (no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub numero_unique: String,
    pub kind: String,
    pub version_number: i64,
    pub piece: Uuid,
    pub part: String,
    pub problem: String,
    pub found_at_ms: i64,
}

impl Db {
    /// Records findings not recorded yet, each with its audit event (the
    /// system, under `controle`); returns those that were new.
    pub async fn record_findings(&self, findings: &[Finding]) -> Result<Vec<Finding>, Error> {
        let mut tx = self.write_tx().await?;
        let mut new = Vec::new();
        for f in findings {
            let done = sqlx::query(
                "INSERT INTO scrub_findings (object_id, dossier_id, piece_id, version_id, part, problem, found_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (object_id) DO NOTHING",
            )
            .bind(f.object.to_string())
            .bind(f.dossier.to_string())
            .bind(f.piece.to_string())
            .bind(f.version.to_string())
            .bind(f.part.as_str())
            .bind(f.problem.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                new.push(f.clone());
            }
        }
        let system = Actor { agent: None, organisation: None, purpose: Purpose::Controle };
        let events: Vec<AuditEvent> = new
            .iter()
            .map(|f| {
                let mut e = AuditEvent::new(system, Recorded::IntegrityFailure).on(f.dossier);
                e.piece = Some(f.piece);
                e.version = Some(f.version);
                e
            })
            .collect();
        Self::record_many_in(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Forgets the findings of `dossier` except `still_bad`: an object
    /// restored from a backup verifies again and leaves the list.
    pub async fn resolve_findings(&self, dossier: Uuid, still_bad: &[Uuid]) -> Result<(), Error> {
        let keep = still_bad.iter().map(Uuid::to_string).collect::<Vec<_>>();
        let sql = if keep.is_empty() {
            "DELETE FROM scrub_findings WHERE dossier_id = $1".to_owned()
        } else {
            format!(
                "DELETE FROM scrub_findings WHERE dossier_id = $1 AND object_id NOT IN ({})",
                super::placeholders(2, keep.len())
            )
        };
        let mut q = sqlx::query(&sql).bind(dossier.to_string());
        for k in keep {
            q = q.bind(k);
        }
        q.execute(self.pool()).await?;
        Ok(())
    }

    /// Every finding, oldest first, named for the operator.
    pub async fn findings(&self) -> Result<Vec<Listed>, Error> {
        let rows = sqlx::query(
            "SELECT d.numero_unique, p.kind, v.number, f.piece_id, f.part, f.problem, f.found_at \
             FROM scrub_findings f JOIN dossiers d ON d.id = f.dossier_id \
             JOIN pieces p ON p.id = f.piece_id JOIN piece_versions v ON v.id = f.version_id \
             ORDER BY f.found_at, f.object_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Listed {
                    numero_unique: r.try_get("numero_unique")?,
                    kind: r.try_get("kind")?,
                    version_number: r.try_get("number")?,
                    piece: uuid_col(r, "piece_id")?,
                    part: r.try_get("part")?,
                    problem: r.try_get("problem")?,
                    found_at_ms: r.try_get("found_at")?,
                })
            })
            .collect()
    }

    /// The cycle's cursor (the last dossier claimed, `None` at the start)
    /// and when the cycle began (Unix ms).
    pub async fn scrub_progress(&self) -> Result<(Option<Uuid>, i64), Error> {
        let r = sqlx::query("SELECT cursor, cycle_started_at FROM scrub_progress WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let cursor: String = r.try_get("cursor")?;
        let cursor = if cursor.is_empty() { None } else { Some(uuid_col(&r, "cursor")?) };
        Ok((cursor, r.try_get("cycle_started_at")?))
    }

    /// The first dossier after `cursor` that has stored versions.
    pub async fn next_dossier_to_scrub(&self, cursor: Option<Uuid>) -> Result<Option<Uuid>, Error> {
        let r = sqlx::query("SELECT MIN(dossier_id) AS next FROM piece_versions WHERE dossier_id > $1")
            .bind(cursor.map(|c| c.to_string()).unwrap_or_default())
            .fetch_one(self.pool())
            .await?;
        let next: Option<String> = r.try_get("next")?;
        next.map(|s| Uuid::parse_str(&s).map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))).transpose()
    }

    /// How many dossiers a cycle may visit: every dossier, an upper bound
    /// of those with stored versions (the ones without cost nothing to
    /// skip). Counting the distinct dossiers of `piece_versions` instead
    /// took 8.5 s of PostgreSQL at 270,000 dossiers, at every start, beside
    /// the first requests; this is an index-only count of one row each.
    pub async fn scrub_cycle_length(&self) -> Result<u64, Error> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM dossiers").fetch_one(self.pool()).await?;
        Ok(u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0))
    }

    /// Moves the cursor from `from` to `to` unless another replica moved it
    /// first; `to = None` starts a new cycle now. Whether this one did.
    pub async fn claim_scrub(&self, from: Option<Uuid>, to: Option<Uuid>) -> Result<bool, Error> {
        let from = from.map(|c| c.to_string()).unwrap_or_default();
        let done = match to {
            Some(to) => {
                sqlx::query("UPDATE scrub_progress SET cursor = $1 WHERE id = 1 AND cursor = $2")
                    .bind(to.to_string())
                    .bind(from)
                    .execute(self.pool())
                    .await?
            }
            None => {
                sqlx::query("UPDATE scrub_progress SET cursor = '', cycle_started_at = $1 WHERE id = 1 AND cursor = $2")
                    .bind(now_ms())
                    .bind(from)
                    .execute(self.pool())
                    .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }
}
