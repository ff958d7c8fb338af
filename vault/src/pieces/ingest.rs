//! Storing an original: stream in, hash, seal, write, verify, then commit.
//!
//! As the upload streams in it is also fed to a sandboxed intake worker
//! (see [`crate::sandbox`]); only a document the worker accepts is kept,
//! with its sanitised rendition and thumbnail sealed beside it under the
//! same dossier key (so crypto-shredding covers them too).
//!
//! Durability order (what makes "nothing half-stored" true): the sealed
//! object is written and its stored length checked first; only then is the
//! metadata (object registry, piece, version, audit event) committed in one
//! transaction; the client hears 201 after both. A crash in between leaves
//! an orphan ciphertext that no row points at, which `dnu-vault gc` removes
//! after a grace period — never a row that points at nothing.

use bytes::Bytes;
use dnu_api::scan::ScanProvenance;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::SealedMeta;
use crate::{
    app::Vault,
    crypto::{DossierKey, Sha256, stream as cstream},
    db::pieces::{Committed, Derived, DerivedObject, NewVersion, PieceTarget},
    domain::Purpose,
    error::Error,
    sandbox::Job,
    store::ObjectKey,
};

/// Sealed bytes are handed to the store in batches of this size.
const WRITE_BATCH: usize = 1 << 20;

/// An original written to the store but not yet committed.
#[derive(Debug, Clone)]
pub struct Staged {
    pub key: ObjectKey,
    pub stored_len: u64,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Staged {
    /// Removes the object (after a refusal or a duplicate). Best effort:
    /// what cannot be removed now is an orphan for `gc`.
    pub async fn discard(&self, vault: &Vault) {
        if let Err(e) = vault.store().delete(&self.key).await {
            tracing::warn!(object.id = %self.key.object(), error = %e, "staged object left for gc");
        }
    }
}

/// An upload staged with what intake made of it, not yet committed.
#[derive(Debug)]
pub struct Accepted {
    pub original: Staged,
    pub media_type: String,
    pub pages: u64,
    pub rendition: Staged,
    pub thumbnail: Staged,
}

impl Accepted {
    /// Removes the three objects (see [`Staged::discard`]).
    pub async fn discard(&self, vault: &Vault) {
        for s in [&self.original, &self.rendition, &self.thumbnail] {
            s.discard(vault).await;
        }
    }
}

/// Streams an upload into the store while a sandboxed worker reads it;
/// keeps it only if the worker accepts it, with its rendition and
/// thumbnail. A refusal (415, 422) leaves nothing stored.
pub async fn stage_upload<S, E>(vault: &Vault, dk: &DossierKey, body: S, limit: u64) -> Result<Accepted, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    Error: From<E>,
{
    let job = vault.sandbox().start(limit);
    // On an error here the job is dropped, and its worker killed.
    let original = stage_original(vault, dk, body, limit, Some(&job)).await?;
    let rendered = match job.finish().await {
        Ok(r) => r,
        Err(e) => {
            original.discard(vault).await;
            return Err(e);
        }
    };
    let rendition = match stage_bytes(vault, dk, rendered.rendition).await {
        Ok(s) => s,
        Err(e) => {
            original.discard(vault).await;
            return Err(e);
        }
    };
    let thumbnail = match stage_bytes(vault, dk, rendered.thumbnail).await {
        Ok(s) => s,
        Err(e) => {
            original.discard(vault).await;
            rendition.discard(vault).await;
            return Err(e);
        }
    };
    Ok(Accepted { original, media_type: rendered.media_type, pages: rendered.pages as u64, rendition, thumbnail })
}

/// Seals bytes the vault made itself (a rendition, a thumbnail).
async fn stage_bytes(vault: &Vault, dk: &DossierKey, bytes: Vec<u8>) -> Result<Staged, Error> {
    let body = futures_util::stream::iter([Ok::<_, Error>(Bytes::from(bytes))]);
    stage_original(vault, dk, body, u64::MAX, None).await
}

/// Streams `body` into a new sealed object of the dossier, handing each part
/// to `tap` as well. Refuses with 413 as soon as more than `limit` bytes
/// have arrived.
pub async fn stage_original<S, E>(
    vault: &Vault,
    dk: &DossierKey,
    body: S,
    limit: u64,
    tap: Option<&Job>,
) -> Result<Staged, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    Error: From<E>,
{
    let key = ObjectKey::Dossier { dossier: dk.dossier(), object: Uuid::new_v4() };
    let mut writer = vault.store().writer(&key).await?;
    match seal_into(&mut writer, dk, key.object(), body, limit, tap).await {
        Ok((size, sha256)) => {
            let stored_len = writer.finish().await?;
            let staged = Staged { key, stored_len, size, sha256 };
            // Verification: the store must report exactly the length the
            // sealed stream has for this plaintext. The content itself was
            // authenticated as it was sealed; a full read-back would double
            // the I/O of every upload for no stronger guarantee than the
            // store's own durability (fsync / S3 acknowledgement).
            if stored_len != cstream::ciphertext_len(size) {
                staged.discard(vault).await;
                return Err(Error::Store(format!(
                    "stored object has {stored_len} bytes, expected {}",
                    cstream::ciphertext_len(size)
                )));
            }
            Ok(staged)
        }
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

async fn seal_into<S, E>(
    writer: &mut crate::store::ObjectWriter,
    dk: &DossierKey,
    object: Uuid,
    mut body: S,
    limit: u64,
    tap: Option<&Job>,
) -> Result<(u64, [u8; 32]), Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    Error: From<E>,
{
    let mut sealer = cstream::Sealer::new(dk, object)?;
    // SHA-256 runs on its own thread, beside sealing here and the store's
    // writes: on two cores the three overlap instead of adding up.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let hasher = tokio::task::spawn_blocking(move || {
        let mut hash = Sha256::default();
        while let Some(b) = rx.blocking_recv() {
            hash.update(&b);
        }
        hash.finish()
    });
    let mut out = Vec::with_capacity(WRITE_BATCH + cstream::CHUNK + cstream::TAG);
    out.extend_from_slice(sealer.header());
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::TooLarge { limit });
        }
        if let Some(job) = tap {
            job.feed(chunk.clone()).await;
        }
        sealer.push(&chunk, &mut out)?;
        tx.send(chunk).await.map_err(|_| Error::Store("hashing thread stopped".into()))?;
        if out.len() >= WRITE_BATCH {
            let full = std::mem::replace(&mut out, Vec::with_capacity(WRITE_BATCH + cstream::CHUNK + cstream::TAG));
            writer.write(full).await?;
        }
    }
    sealer.finish(&mut out)?;
    writer.write(out).await?;
    drop(tx);
    let sha256 = hasher.await.map_err(|e| Error::Store(format!("hashing thread: {e}")))?;
    Ok((size, sha256))
}

/// Who is storing the piece.
#[derive(Debug, Clone, Default)]
pub struct Uploader {
    pub agent: Option<Uuid>,
    pub organisation: Option<Uuid>,
    pub purpose: Option<Purpose>,
    /// The client's `Idempotency-Key`, if it sent one.
    pub idempotency_key: Option<String>,
    /// Provenance of a piece scanned by `scanner-ingest`.
    pub scan: Option<ScanProvenance>,
}

/// Commits a staged upload as a new version of `target`. A duplicate of
/// bytes the dossier already holds discards the staged objects and returns
/// the existing version.
pub async fn commit(
    vault: &Vault,
    dk: &DossierKey,
    accepted: &Accepted,
    target: &PieceTarget,
    filename: Option<String>,
    declared_type: Option<String>,
    by: Uploader,
) -> Result<Committed, Error> {
    let staged = &accepted.original;
    let version_id = Uuid::new_v4();
    let meta = SealedMeta { sha256: hex::encode(staged.sha256), filename, declared_type, scan: by.scan.clone() };
    let sealed_meta =
        dk.seal_meta(version_id, &serde_json::to_vec(&meta).map_err(|e| Error::Invalid(e.to_string()))?)?;
    let new = NewVersion {
        id: version_id,
        dossier_id: dk.dossier(),
        object_id: staged.key.object(),
        stored_len: staged.stored_len,
        fingerprint: dk.fingerprint(&staged.sha256),
        size_bytes: staged.size,
        media_type: accepted.media_type.clone(),
        sealed_meta,
        agent: by.agent,
        organisation: by.organisation,
        purpose: by.purpose.map(Purpose::as_str),
        idempotency_key: by.idempotency_key.clone(),
        derived: Derived {
            pages: accepted.pages,
            rendition: DerivedObject { object_id: accepted.rendition.key.object(), size: accepted.rendition.size },
            thumbnail: DerivedObject { object_id: accepted.thumbnail.key.object(), size: accepted.thumbnail.size },
        },
    };
    match vault.db().commit_version(target, &new).await {
        Ok(c @ Committed::Created(..)) => Ok(c),
        Ok(c @ Committed::Duplicate(..)) => {
            accepted.discard(vault).await;
            Ok(c)
        }
        // A database error may hide a commit that did happen (the reply was
        // lost): never delete then, the garbage collector checks the registry.
        Err(e @ Error::Database(_)) => Err(e),
        Err(e) => {
            accepted.discard(vault).await;
            Err(e)
        }
    }
}
