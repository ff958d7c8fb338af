//! Reading a sealed object of a dossier back as plaintext, fail closed.
//!
//! Fail-closed streaming. Each 64 KiB chunk is authenticated before any of
//! its plaintext is sent, so no byte leaves that is not exactly what was
//! stored at that position of that object. Before the response starts, the
//! header, the key derivation and the first chunk are verified, so a
//! swapped, foreign or corrupted-at-the-start object gets an error status.
//! A failure further in (a flipped byte, truncation, reordering) cannot
//! change a status already sent: the body is then *aborted* — the
//! connection is cut before the promised Content-Length is reached — so no
//! client can take the partial body for a complete one. Verifying the whole
//! object before the first byte would mean holding or reading twice up to
//! the upload limit per request; this keeps memory flat.

use bytes::Bytes;
use futures_util::{Stream, stream};
use tokio::io::AsyncReadExt;

use crate::{
    app::Vault,
    crypto::{
        DossierKey,
        stream::{CHUNK, HEADER, Opener, TAG},
    },
    error::Error,
    store::{ObjectKey, ObjectReader},
};

/// Reads a whole (small) object: a rendition, a thumbnail.
pub async fn read_object(vault: &Vault, dk: &DossierKey, object: uuid::Uuid) -> Result<Vec<u8>, Error> {
    let mut body = std::pin::pin!(open_object(vault, dk, object).await?);
    let mut out = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Opens an object of the dossier for reading: verifies the header and
/// first chunk now, the rest as it streams (an `Err` item ends the body
/// early).
pub async fn open_object(
    vault: &Vault,
    dk: &DossierKey,
    object: uuid::Uuid,
) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + 'static, Error> {
    let key = ObjectKey::Dossier { dossier: dk.dossier(), object };
    let mut reader = vault.store().reader(&key).await?;
    let mut header = [0u8; HEADER];
    let n = read_full(&mut reader, &mut header).await?;
    let opener = Opener::new(dk, object, &header[..n])?;
    let mut dec = Decrypting { reader, opener, next: None, object };
    let first = dec.next_chunk().await?;
    let rest = stream::try_unfold(dec, |mut d| async move {
        match d.next_chunk().await {
            Ok(Some(b)) => Ok(Some((b, d))),
            Ok(None) => Ok(None),
            Err(e) => {
                crate::metrics::global().count_failure(e.failure());
                tracing::error!(object.id = %d.object, error = %e, "integrity failure while streaming: response aborted");
                Err(e)
            }
        }
    });
    Ok(futures_util::StreamExt::chain(stream::iter(first.map(Ok)), rest))
}

struct Decrypting {
    reader: ObjectReader,
    opener: Opener,
    /// A sealed chunk read ahead to learn whether the current one is last.
    next: Option<Vec<u8>>,
    object: uuid::Uuid,
}

impl Decrypting {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.opener.is_done() {
            return Ok(None);
        }
        let mut cur = match self.next.take() {
            Some(c) => c,
            None => self.read_sealed().await?,
        };
        let last = if cur.len() < CHUNK + TAG {
            true
        } else {
            let ahead = self.read_sealed().await?;
            let last = ahead.is_empty();
            self.next = (!last).then_some(ahead);
            last
        };
        if cur.is_empty() {
            return Err(Error::Integrity("object ends before its final chunk".into()));
        }
        let n = self.opener.open(&mut cur, last)?;
        cur.truncate(n);
        Ok(Some(Bytes::from(cur)))
    }

    async fn read_sealed(&mut self) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; CHUNK + TAG];
        let n = read_full(&mut self.reader, &mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Reads until `buf` is full or the object ends; returns how much was read.
async fn read_full(r: &mut ObjectReader, buf: &mut [u8]) -> Result<usize, Error> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = r.read(&mut buf[filled..]).await.map_err(|e| Error::Store(format!("reading object: {e}")))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}
