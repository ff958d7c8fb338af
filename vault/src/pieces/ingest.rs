//! Storing an original: stream in, hash, seal, write, verify, then commit.
//!
//! Durability order (what makes "nothing half-stored" true): the sealed
//! object is written and its stored length checked first; only then is the
//! metadata (object registry, piece, version, audit event) committed in one
//! transaction; the client hears 201 after both. A crash in between leaves
//! an orphan ciphertext that no row points at, which `dnu-vault gc` removes
//! after a grace period — never a row that points at nothing.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::{SealedMeta, media};
use crate::{
    app::Vault,
    crypto::{DossierKey, Sha256, stream as cstream},
    db::pieces::{Committed, NewVersion, PieceTarget},
    domain::Purpose,
    error::Error,
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
    pub media_type: &'static str,
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

/// Streams `body` into a new sealed object of the dossier. Refuses with 413
/// as soon as more than `limit` bytes have arrived.
pub async fn stage_original<S, E>(vault: &Vault, dk: &DossierKey, body: S, limit: u64) -> Result<Staged, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    Error: From<E>,
{
    let key = ObjectKey::Dossier { dossier: dk.dossier(), object: Uuid::new_v4() };
    let mut writer = vault.store().writer(&key).await?;
    match seal_into(&mut writer, dk, key.object(), body, limit).await {
        Ok((size, sha256, head)) => {
            let stored_len = writer.finish().await?;
            let staged = Staged { key, stored_len, size, sha256, media_type: media::sniff(&head) };
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
) -> Result<(u64, [u8; 32], Vec<u8>), Error>
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
    let mut head = Vec::with_capacity(media::SNIFF_LEN);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::TooLarge { limit });
        }
        if head.len() < media::SNIFF_LEN {
            let take = (media::SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
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
    Ok((size, sha256, head))
}

/// Who is storing the piece.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uploader {
    pub agent: Option<Uuid>,
    pub organisation: Option<Uuid>,
    pub purpose: Option<Purpose>,
}

/// Commits a staged original as a new version of `target`. A duplicate of
/// bytes the dossier already holds discards the staged object and returns
/// the existing version.
pub async fn commit(
    vault: &Vault,
    dk: &DossierKey,
    staged: &Staged,
    target: &PieceTarget,
    filename: Option<String>,
    declared_type: Option<String>,
    by: Uploader,
) -> Result<Committed, Error> {
    let version_id = Uuid::new_v4();
    let meta = SealedMeta { sha256: hex::encode(staged.sha256), filename, declared_type };
    let sealed_meta =
        dk.seal_meta(version_id, &serde_json::to_vec(&meta).map_err(|e| Error::Invalid(e.to_string()))?)?;
    let new = NewVersion {
        id: version_id,
        dossier_id: dk.dossier(),
        object_id: staged.key.object(),
        stored_len: staged.stored_len,
        fingerprint: dk.fingerprint(&staged.sha256),
        size_bytes: staged.size,
        media_type: staged.media_type.to_owned(),
        sealed_meta,
        agent: by.agent,
        organisation: by.organisation,
        purpose: by.purpose.map(Purpose::as_str),
    };
    match vault.db().commit_version(target, &new).await {
        Ok(c @ Committed::Created(..)) => Ok(c),
        Ok(c @ Committed::Duplicate(..)) => {
            staged.discard(vault).await;
            Ok(c)
        }
        // A database error may hide a commit that did happen (the reply was
        // lost): never delete then, the garbage collector checks the registry.
        Err(e @ Error::Database(_)) => Err(e),
        Err(e) => {
            staged.discard(vault).await;
            Err(e)
        }
    }
}
