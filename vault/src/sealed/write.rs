//! Sealing plaintext into the store: stream in, hash, seal, write, verify.
//! What is staged here is not yet anyone's: the caller commits its
//! metadata (`pieces`), or discards it.
//!
//! As an upload streams in it is also fed to a sandboxed intake worker
//! (see [`crate::sandbox`]); only a document the worker accepts is kept,
//! with its sanitised rendition and thumbnail sealed beside it under the
//! same dossier key (so crypto-shredding covers them too). A document may
//! come as several files (photos of its pages): one worker reads them all,
//! and the files are kept together as one ZIP ([`Upload`]).
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

/// Media type of the original of a document sent as several files: the
/// files as deposited, in a ZIP the vault wrote.
pub const BUNDLE_MEDIA_TYPE: &str = "application/zip";

/// An upload being staged: each of its files sealed into the store as it
/// streams in, and fed to one sandboxed worker that reads them all as the
/// pages of one document. Nothing is kept unless [`Upload::finish`]
/// succeeds; after an error the caller calls [`Upload::discard`].
#[derive(Debug)]
pub struct Upload {
    job: Job,
    parts: Vec<Part>,
    /// Bytes of files so far, and the most the upload may bring.
    total: u64,
    limit: u64,
}

#[derive(Debug)]
struct Part {
    staged: Staged,
    /// The file's type by its first bytes, for its name in a bundle.
    extension: &'static str,
}

impl Upload {
    /// An upload whose files together bring at most `limit` bytes.
    pub fn new(vault: &Vault, limit: u64) -> Self {
        Self { job: vault.sandbox().start(limit), parts: Vec::new(), total: 0, limit }
    }

    /// Stages the next file, streaming it to the store and to the worker.
    pub async fn add_file<S, E>(&mut self, vault: &Vault, dk: &DossierKey, body: S) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        Error: From<E>,
    {
        if self.parts.len() == intake::MAX_FILES {
            return Err(Error::BadRequest(format!(
                "at most {} files may be sent as the pages of one document",
                intake::MAX_FILES
            )));
        }
        self.job.begin_file().await;
        let mut head = Vec::new();
        let body = body.inspect(|part| {
            if let Ok(b) = part
                && head.len() < HEAD
            {
                head.extend_from_slice(&b[..b.len().min(HEAD - head.len())]);
            }
        });
        let left = self.limit - self.total;
        let staged = stage_original(vault, dk, body, left, Some(&mut self.job)).await.map_err(|e| match e {
            Error::TooLarge { .. } => Error::TooLarge { limit: self.limit },
            e => e,
        })?;
        self.total += staged.size;
        self.parts.push(Part { staged, extension: extension(&head) });
        Ok(())
    }

    /// Ends the input with the turns asked for each file (empty: none) and
    /// keeps the upload if the worker accepts it: its original (the one
    /// file, or a ZIP of the files), rendition and thumbnail. A refusal
    /// (415, 422) leaves nothing stored.
    pub async fn finish(self, vault: &Vault, dk: &DossierKey, turns: &[intake::Turns]) -> Result<Accepted, Error> {
        let Self { job, parts, .. } = self;
        // Everything staged, removed if the upload is not kept.
        let mut staged: Vec<Staged> = parts.iter().map(|p| p.staged.clone()).collect();
        let kept = keep(vault, dk, job, &parts, turns, &mut staged).await;
        let removed = match &kept {
            Err(_) => staged.as_slice(),
            // The files now live in the bundle.
            Ok(_) if parts.len() > 1 => &staged[..parts.len()],
            Ok(_) => &[],
        };
        for s in removed {
            s.discard(vault).await;
        }
        kept
    }

    /// Removes what was staged (the worker goes with the job).
    pub async fn discard(self, vault: &Vault) {
        for p in self.parts {
            p.staged.discard(vault).await;
        }
    }
}

/// What [`Upload::finish`] keeps, each new object added to `staged` as soon
/// as it exists.
async fn keep(
    vault: &Vault,
    dk: &DossierKey,
    job: Job,
    parts: &[Part],
    turns: &[intake::Turns],
    staged: &mut Vec<Staged>,
) -> Result<Accepted, Error> {
    if parts.is_empty() {
        return Err(Error::BadRequest("the form has no `file` field".into()));
    }
    let turned = turns.iter().any(|t| t.count() != 0);
    if turned && turns.len() != parts.len() {
        return Err(Error::Invalid(format!("rotate: {} value(s) for {} file(s)", turns.len(), parts.len())));
    }
    let rendered = job.finish(if turned { turns } else { &[] }).await?;
    let (original, media_type) = match parts {
        [one] => (one.staged.clone(), rendered.media_type),
        several => {
            let zip = bundle(vault, dk, several).await?;
            staged.push(zip.clone());
            (zip, BUNDLE_MEDIA_TYPE.to_owned())
        }
    };
    let rendition = stage_bytes(vault, dk, rendered.rendition).await?;
    staged.push(rendition.clone());
    let thumbnail = stage_bytes(vault, dk, rendered.thumbnail).await?;
    staged.push(thumbnail.clone());
    Ok(Accepted { original, media_type, pages: rendered.pages as u64, rendition, thumbnail })
}

/// Bytes kept of each file's start, to name it in a bundle.
const HEAD: usize = 1024;

/// The extension of a file the worker accepted, by its first bytes.
fn extension(head: &[u8]) -> &'static str {
    intake::detect(head).map_or("bin", intake::Format::extension)
}

/// The original of a document sent as several files: one sealed ZIP of
/// the files as deposited (`page-01.jpg`, `page-02.heic`…, in the order
/// sent). Each file was sealed on its own as it arrived (the server cannot
/// know a second file comes until the first has passed); they are read
/// back and written once more here, a few megabytes of phone photos, so
/// that a version keeps one original object like every other.
async fn bundle(vault: &Vault, dk: &DossierKey, parts: &[Part]) -> Result<Staged, Error> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Error>>(4);
    let produce = async move {
        let gone = |_| Error::internal("bundle", "the writer stopped");
        let mut zip = crate::zip::ZipWriter::new(time::OffsetDateTime::now_utc());
        let result: Result<(), Error> = async {
            for (i, p) in parts.iter().enumerate() {
                tx.send(Ok(zip.start_entry(&format!("page-{:02}.{}", i + 1, p.extension))?)).await.map_err(gone)?;
                let mut plain = std::pin::pin!(super::open_object(vault, dk, p.staged.key.object()).await?);
                while let Some(chunk) = plain.next().await {
                    let chunk = chunk?;
                    zip.data(&chunk);
                    tx.send(Ok(chunk)).await.map_err(gone)?;
                }
                tx.send(Ok(zip.end_entry()?)).await.map_err(gone)?;
            }
            tx.send(Ok(zip.finish()?)).await.map_err(gone)
        }
        .await;
        if let Err(e) = result {
            // The writer aborts on this item (or is gone already).
            let _ = tx.send(Err(e)).await;
        }
    };
    let body = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }));
    let ((), staged) = tokio::join!(produce, stage_original(vault, dk, body, u64::MAX, None));
    staged
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
    tap: Option<&mut Job>,
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
    mut tap: Option<&mut Job>,
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
        if let Some(job) = tap.as_deref_mut() {
            job.feed(&chunk).await;
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
