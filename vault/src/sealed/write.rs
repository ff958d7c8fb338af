//! Sealing plaintext into the store: stream in, hash, seal, write, verify.
//! What is staged here is not yet anyone's: the caller commits its
//! metadata (`pieces`), or discards it.
//!
//! As an upload streams in it is also fed to a sandboxed intake worker
//! (see [`crate::sandbox`]); only a document the worker accepts is kept,
//! with its sanitised rendition and thumbnail sealed beside it under the
//! same dossier key (so crypto-shredding covers them too).
//!
//! Durability order (what makes "nothing half-stored" true): the sealed
//! object is written and its stored length checked first; only then may
//! the metadata be committed; a crash in between leaves an orphan
//! ciphertext that no row points at, which `dnu-vault gc` removes after a
//! grace period — never a row that points at nothing.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::{
    app::Vault,
    crypto::{DossierKey, Sha256, stream as cstream},
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
pub async fn stage_bytes(vault: &Vault, dk: &DossierKey, bytes: Vec<u8>) -> Result<Staged, Error> {
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
        tx.send(chunk).await.map_err(|_| Error::internal("hashing", "the hashing thread stopped"))?;
        if out.len() >= WRITE_BATCH {
            let full = std::mem::replace(&mut out, Vec::with_capacity(WRITE_BATCH + cstream::CHUNK + cstream::TAG));
            writer.write(full).await?;
        }
    }
    sealer.finish(&mut out)?;
    writer.write(out).await?;
    drop(tx);
    let sha256 = hasher.await.map_err(|e| Error::internal("hashing thread", e))?;
    Ok((size, sha256))
}
