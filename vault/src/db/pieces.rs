//! Pieces and their immutable versions.

use sqlx::{Row, any::AnyRow};
use time::Date;
use uuid::Uuid;

use super::{Db, Tx, date_from_sql, date_to_sql, is_unique_violation, now_ms, opt_uuid_col, parsed, uuid_col};
use crate::{
    crypto::{WrappedKey, stream::ciphertext_len},
    db::audit::AuditEvent,
    domain::{
        PieceKind,
        journal::{Actor, Recorded},
    },
    error::Error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub kind: PieceKind,
    pub member: Member,
    pub valid_until: Option<Date>,
    pub created_at: i64,
}

/// The household member a piece concerns, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    None,
    /// Sealed under the dossier key, bound to the piece id.
    Sealed(Vec<u8>),
    /// In clear: pieces stored before sealing, until `dnu-vault reseal`.
    Legacy(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: Uuid,
    pub piece_id: Uuid,
    pub dossier_id: Uuid,
    pub number: i64,
    pub object_id: Uuid,
    pub fingerprint: Vec<u8>,
    pub size_bytes: u64,
    pub media_type: String,
    pub sealed_meta: Vec<u8>,
    pub uploaded_by_agent: Option<Uuid>,
    pub uploaded_by_org: Option<Uuid>,
    pub created_at: i64,
    /// What safe intake made of it; `None` for versions stored before.
    pub derived: Option<Derived>,
}

/// The objects intake derived from an original, stored beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    pub pages: u64,
    pub rendition: DerivedObject,
    pub thumbnail: DerivedObject,
}

/// A derived object: its id and its plaintext size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedObject {
    pub object_id: Uuid,
    pub size: u64,
}

/// Which piece a new version belongs to.
#[derive(Debug, Clone)]
pub enum PieceTarget {
    /// A new piece; its id is drawn by the caller, who sealed `member` to it.
    New {
        id: Uuid,
        kind: PieceKind,
        member: Option<Vec<u8>>,
        valid_until: Option<Date>,
    },
    Existing(Uuid),
}

/// A version whose object is already stored and verified.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub object_id: Uuid,
    pub stored_len: u64,
    pub fingerprint: [u8; 32],
    pub size_bytes: u64,
    pub media_type: String,
    pub sealed_meta: Vec<u8>,
    /// Who uploaded (neither id for the applicant), recorded with the version.
    pub by: Actor,
    pub derived: Derived,
    /// The client's idempotency key, scoped to the uploader: the same key
    /// on the same dossier commits at most one version, and a replay must
    /// carry the same bytes.
    pub idempotency_key: Option<String>,
}

/// What committing a version did.
#[derive(Debug, Clone)]
pub enum Committed {
    Created(Piece, Version),
    /// The dossier already held these exact bytes: nothing new was stored.
    Duplicate(Piece, Version),
}

const PIECE_COLUMNS: &str = "id, dossier_id, kind, member, member_sealed, valid_until, created_at";
const VERSION_COLUMNS: &str = "id, piece_id, dossier_id, number, object_id, fingerprint, size_bytes, media_type, \
                               sealed_meta, uploaded_by_agent, uploaded_by_org, created_at, pages, \
                               rendition_object_id, rendition_size, thumbnail_object_id, thumbnail_size";

fn piece_from_row(row: &AnyRow) -> Result<Piece, Error> {
    Ok(Piece {
        id: uuid_col(row, "id")?,
        dossier_id: uuid_col(row, "dossier_id")?,
        kind: parsed(row, "kind", PieceKind::parse)?,
        member: match (row.try_get::<Option<Vec<u8>>, _>("member_sealed")?, row.try_get::<Option<String>, _>("member")?)
        {
            (Some(sealed), _) => Member::Sealed(sealed),
            (None, Some(clear)) => Member::Legacy(clear),
            (None, None) => Member::None,
        },
        valid_until: row
            .try_get::<Option<String>, _>("valid_until")?
            .map(|s| date_from_sql(&s))
            .transpose()
            .map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))?,
        created_at: row.try_get("created_at")?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<Version, Error> {
    Ok(Version {
        id: uuid_col(row, "id")?,
        piece_id: uuid_col(row, "piece_id")?,
        dossier_id: uuid_col(row, "dossier_id")?,
        number: row.try_get("number")?,
        object_id: uuid_col(row, "object_id")?,
        fingerprint: row.try_get("fingerprint")?,
        size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?).unwrap_or(0),
        media_type: row.try_get("media_type")?,
        sealed_meta: row.try_get("sealed_meta")?,
        uploaded_by_agent: opt_uuid_col(row, "uploaded_by_agent")?,
        uploaded_by_org: opt_uuid_col(row, "uploaded_by_org")?,
        created_at: row.try_get("created_at")?,
        derived: derived_from_row(row)?,
    })
}

fn derived_from_row(row: &AnyRow) -> Result<Option<Derived>, Error> {
    let size = |col: &str| -> Result<Option<u64>, Error> {
        Ok(row.try_get::<Option<i64>, _>(col)?.map(|n| u64::try_from(n).unwrap_or(0)))
    };
    let pages = size("pages")?;
    let rendition = opt_uuid_col(row, "rendition_object_id")?;
    let thumbnail = opt_uuid_col(row, "thumbnail_object_id")?;
    let (Some(pages), Some(r), Some(t)) = (pages, rendition, thumbnail) else { return Ok(None) };
    let object = |object_id, size: Option<u64>| DerivedObject { object_id, size: size.unwrap_or(0) };
    Ok(Some(Derived {
        pages,
        rendition: object(r, size("rendition_size")?),
        thumbnail: object(t, size("thumbnail_size")?),
    }))
}

impl Db {
    pub async fn pieces_of(&self, dossier: Uuid) -> Result<Vec<Piece>, Error> {
        let rows =
            sqlx::query(&format!("SELECT {PIECE_COLUMNS} FROM pieces WHERE dossier_id = $1 ORDER BY created_at, id"))
                .bind(dossier.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(piece_from_row).collect()
    }

    /// The pieces of several dossiers.
    pub async fn pieces_of_many(&self, dossiers: &[Uuid]) -> Result<Vec<Piece>, Error> {
        let select =
            format!("SELECT {PIECE_COLUMNS} FROM pieces WHERE dossier_id IN ({{ids}}) ORDER BY created_at, id");
        self.fetch_for_ids(&select, dossiers).await?.iter().map(piece_from_row).collect()
    }

    pub async fn piece(&self, dossier: Uuid, piece: Uuid) -> Result<Option<Piece>, Error> {
        let row = sqlx::query(&format!("SELECT {PIECE_COLUMNS} FROM pieces WHERE dossier_id = $1 AND id = $2"))
            .bind(dossier.to_string())
            .bind(piece.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(piece_from_row).transpose()
    }

    /// Versions of a piece, oldest first.
    pub async fn versions_of(&self, piece: Uuid) -> Result<Vec<Version>, Error> {
        let rows =
            sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM piece_versions WHERE piece_id = $1 ORDER BY number"))
                .bind(piece.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// What a download needs in one round trip: version `number` of the
    /// dossier's piece (the latest when `None`), and the dossier's wrapped
    /// key (`None` once shredded). `None` when the dossier has no such
    /// piece, or the piece no such version. Three statements before; a
    /// download's other work is a handful more.
    pub async fn version_with_key(
        &self,
        dossier: Uuid,
        piece: Uuid,
        number: Option<i64>,
    ) -> Result<Option<(Version, Option<WrappedKey>)>, Error> {
        // Every download asks: the two statements are written once.
        static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
            let columns: Vec<String> = VERSION_COLUMNS.split(", ").map(|c| format!("v.{c} AS {c}")).collect();
            ["", "AND v.number = $3"].map(|which| {
                format!(
                    "SELECT {}, k.kek_version AS kek_version, k.wrapped AS wrapped FROM piece_versions v \
                     LEFT JOIN dossier_keys k ON k.dossier_id = v.dossier_id \
                     WHERE v.dossier_id = $1 AND v.piece_id = $2 {which} ORDER BY v.number DESC LIMIT 1",
                    columns.join(", ")
                )
            })
        });
        let mut q = sqlx::query(&SQL[usize::from(number.is_some())]).bind(dossier.to_string()).bind(piece.to_string());
        if let Some(n) = number {
            q = q.bind(n);
        }
        let Some(row) = q.fetch_optional(self.pool()).await? else { return Ok(None) };
        let key = match row.try_get::<Option<Vec<u8>>, _>("wrapped")? {
            Some(bytes) => Some(WrappedKey { kek_version: super::keys::kek_version(&row)?, bytes }),
            None => None,
        };
        Ok(Some((version_from_row(&row)?, key)))
    }

    /// Every version of a dossier (for integrity checks and maintenance).
    pub async fn versions_of_dossier(&self, dossier: Uuid) -> Result<Vec<Version>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM piece_versions WHERE dossier_id = $1 ORDER BY created_at"
        ))
        .bind(dossier.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn duplicate_of(&self, dossier: Uuid, fingerprint: &[u8; 32]) -> Result<Option<(Piece, Version)>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM piece_versions WHERE dossier_id = $1 AND fingerprint = $2"
        ))
        .bind(dossier.to_string())
        .bind(fingerprint.to_vec())
        .fetch_optional(self.pool())
        .await?;
        let Some(v) = row.as_ref().map(version_from_row).transpose()? else { return Ok(None) };
        let p = self
            .piece(dossier, v.piece_id)
            .await?
            .ok_or_else(|| Error::Integrity("version without its piece".into()))?;
        Ok(Some((p, v)))
    }

    /// What a dossier holds: versions, bytes of originals, pages.
    pub async fn dossier_usage(&self, dossier: Uuid) -> Result<Usage, Error> {
        let row = sqlx::query(
            // SUM of BIGINT is NUMERIC in PostgreSQL: cast back.
            "SELECT COUNT(*) AS versions, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes, \
             CAST(COALESCE(SUM(pages), 0) AS BIGINT) AS pages FROM piece_versions WHERE dossier_id = $1",
        )
        .bind(dossier.to_string())
        .fetch_one(self.pool())
        .await?;
        let get = |c: &str| -> Result<u64, Error> { Ok(u64::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0)) };
        Ok(Usage { versions: get("versions")?, bytes: get("bytes")?, pages: get("pages")? })
    }

    /// The version an upload with this idempotency key committed. Keys are
    /// scoped by the caller (`pieces::upload` prefixes the principal), so
    /// one uploader's key never matches another's.
    async fn version_by_key(&self, dossier: Uuid, key: &str) -> Result<Option<(Piece, Version)>, Error> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT version_id FROM upload_keys WHERE dossier_id = $1 AND idem_key = $2")
                .bind(dossier.to_string())
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        let Some(id) = id else { return Ok(None) };
        let row = sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM piece_versions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(v) = row.as_ref().map(version_from_row).transpose()? else {
            return Err(Error::Integrity("idempotency key without its version".into()));
        };
        let p = self
            .piece(dossier, v.piece_id)
            .await?
            .ok_or_else(|| Error::Integrity("version without its piece".into()))?;
        Ok(Some((p, v)))
    }

    /// Commits a stored object as a piece version, with its audit event, in
    /// one transaction. If the dossier already holds the same bytes, commits
    /// nothing and returns the existing version.
    pub async fn commit_version(&self, target: &PieceTarget, new: &NewVersion) -> Result<Committed, Error> {
        if let Some(key) = &new.idempotency_key
            && let Some((p, v)) = self.version_by_key(new.dossier_id, key).await?
        {
            return replay(new, p, v);
        }
        if let Some((p, v)) = self.duplicate_of(new.dossier_id, &new.fingerprint).await? {
            return Ok(Committed::Duplicate(p, v));
        }
        let mut tx = self.write_tx().await?;
        match Self::commit_in(&mut tx, target, new).await {
            Ok((p, v)) => {
                tx.commit().await?;
                Ok(Committed::Created(p, v))
            }
            Err(Error::Database(e)) if is_unique_violation(&e) => {
                // A concurrent upload of the same bytes or key won the race.
                drop(tx);
                if let Some(key) = &new.idempotency_key
                    && let Some((p, v)) = self.version_by_key(new.dossier_id, key).await?
                {
                    return replay(new, p, v);
                }
                match self.duplicate_of(new.dossier_id, &new.fingerprint).await? {
                    Some((p, v)) => Ok(Committed::Duplicate(p, v)),
                    None => Err(Error::Database(e)),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn commit_in(tx: &mut Tx, target: &PieceTarget, new: &NewVersion) -> Result<(Piece, Version), Error> {
        let now = now_ms();
        let piece = match target {
            PieceTarget::New { id, kind, member, valid_until } => {
                let p = Piece {
                    id: *id,
                    dossier_id: new.dossier_id,
                    kind: *kind,
                    member: member.clone().map_or(Member::None, Member::Sealed),
                    valid_until: *valid_until,
                    created_at: now,
                };
                sqlx::query(
                    "INSERT INTO pieces (id, dossier_id, kind, member_sealed, valid_until, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(p.id.to_string())
                .bind(p.dossier_id.to_string())
                .bind(p.kind.as_str())
                .bind(member.clone())
                .bind(p.valid_until.map(date_to_sql))
                .bind(now)
                .execute(&mut **tx)
                .await?;
                p
            }
            PieceTarget::Existing(id) => {
                let row = sqlx::query(&format!("SELECT {PIECE_COLUMNS} FROM pieces WHERE dossier_id = $1 AND id = $2"))
                    .bind(new.dossier_id.to_string())
                    .bind(id.to_string())
                    .fetch_optional(&mut **tx)
                    .await?;
                row.as_ref()
                    .map(piece_from_row)
                    .transpose()?
                    .ok_or_else(|| Error::NotFound(format!("piece {id} does not exist in this dossier")))?
            }
        };
        let number: i64 =
            sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM piece_versions WHERE piece_id = $1")
                .bind(piece.id.to_string())
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        Self::insert_object(tx, new.object_id, new.dossier_id, "original", new.stored_len).await?;
        let d = &new.derived;
        for (o, role) in [(d.rendition, "rendition"), (d.thumbnail, "thumbnail")] {
            // Stored (checked when staged) as the sealed stream of `size` bytes.
            Self::insert_object(tx, o.object_id, new.dossier_id, role, ciphertext_len(o.size)).await?;
        }
        let big = |n: u64| i64::try_from(n).map_err(|_| Error::Invalid("file too large".into()));
        let size = big(new.size_bytes)?;
        sqlx::query(&format!(
            "INSERT INTO piece_versions ({VERSION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(new.id.to_string())
        .bind(piece.id.to_string())
        .bind(new.dossier_id.to_string())
        .bind(number)
        .bind(new.object_id.to_string())
        .bind(new.fingerprint.to_vec())
        .bind(size)
        .bind(&new.media_type)
        .bind(new.sealed_meta.clone())
        .bind(new.by.agent.map(|u| u.to_string()))
        .bind(new.by.organisation.map(|u| u.to_string()))
        .bind(now)
        .bind(big(d.pages)?)
        .bind(d.rendition.object_id.to_string())
        .bind(big(d.rendition.size)?)
        .bind(d.thumbnail.object_id.to_string())
        .bind(big(d.thumbnail.size)?)
        .execute(&mut **tx)
        .await?;
        if let Some(key) = &new.idempotency_key {
            sqlx::query(
                "INSERT INTO upload_keys (dossier_id, idem_key, version_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(new.dossier_id.to_string())
            .bind(key)
            .bind(new.id.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Self::record_in(
            tx,
            &AuditEvent::new(new.by, Recorded::PIECE_UPLOAD).on(new.dossier_id).of_version(piece.id, new.id),
        )
        .await?;
        let version = Version {
            id: new.id,
            piece_id: piece.id,
            dossier_id: new.dossier_id,
            number,
            object_id: new.object_id,
            fingerprint: new.fingerprint.to_vec(),
            size_bytes: new.size_bytes,
            media_type: new.media_type.clone(),
            sealed_meta: new.sealed_meta.clone(),
            uploaded_by_agent: new.by.agent,
            uploaded_by_org: new.by.organisation,
            created_at: now,
            derived: Some(new.derived),
        };
        Ok((piece, version))
    }
}

/// Sealing what older versions of the vault stored in clear
/// (`dnu-vault reseal`).
impl Db {
    /// Dossiers that hold pieces and still have their key: where `reseal`
    /// looks. Which rows need sealing is for the caller to tell (a version's
    /// binding is inside its sealed metadata, which this layer cannot read).
    pub async fn dossiers_with_pieces(&self) -> Result<Vec<Uuid>, Error> {
        let rows = sqlx::query(
            "SELECT DISTINCT p.dossier_id FROM pieces p JOIN dossier_keys k ON k.dossier_id = p.dossier_id \
             ORDER BY p.dossier_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| uuid_col(r, "dossier_id")).collect()
    }

    /// Seals a piece's member name: the clear copy goes in the same write.
    pub async fn reseal_member(&self, piece: Uuid, sealed: &[u8]) -> Result<(), Error> {
        sqlx::query("UPDATE pieces SET member_sealed = $1, member = NULL WHERE id = $2 AND member_sealed IS NULL")
            .bind(sealed.to_vec())
            .bind(piece.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Replaces a version's sealed metadata (same facts, now bound to its
    /// objects), only if it is still the one the caller read.
    pub async fn reseal_version_meta(&self, version: Uuid, old: &[u8], new: &[u8]) -> Result<(), Error> {
        sqlx::query("UPDATE piece_versions SET sealed_meta = $1 WHERE id = $2 AND sealed_meta = $3")
            .bind(new.to_vec())
            .bind(version.to_string())
            .bind(old.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// What a dossier holds ([`Db::dossier_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub versions: u64,
    pub bytes: u64,
    pub pages: u64,
}

/// A retried upload whose key filed a version already: the same bytes are
/// that version; other bytes under the same key are a client's mistake
/// (a key reused for another document), refused rather than dropped.
fn replay(new: &NewVersion, p: Piece, v: Version) -> Result<Committed, Error> {
    if v.fingerprint[..] != new.fingerprint[..] {
        return Err(Error::Invalid(
            "Idempotency-Key: this key already filed a different document in this dossier; use a new key for a new document"
                .into(),
        ));
    }
    Ok(Committed::Duplicate(p, v))
}
