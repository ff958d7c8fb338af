//! `GET /api/v1/dossiers/{nu}/pieces/{piece}/original[?version=N]`: the
//! original bytes as deposited.
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

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::{Stream, stream};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::show::find_piece;
use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    crypto::{
        DossierKey,
        stream::{CHUNK, HEADER, Opener, TAG},
    },
    db::{audit::AuditEvent, pieces::Version},
    error::Error,
    store::{ObjectKey, ObjectReader},
};

#[derive(Debug, Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
}

pub async fn download(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, piece)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, Error> {
    let (dossier, piece) = find_piece(&vault, &nu, &piece).await?;
    authorize(&vault, &principal, Action::PieceReadOriginal, Resource::Dossier(&dossier)).await?;
    let versions = vault.db().versions_of(piece.id).await?;
    let version = match q.version {
        None => versions.last(),
        Some(n) => versions.iter().find(|v| v.number == n),
    }
    .ok_or_else(|| Error::NotFound("no such version of this piece".into()))?
    .clone();
    let dk = vault.dossier_key(dossier.id).await?;
    // The trace is committed before the first byte of content is sent.
    vault
        .db()
        .record(&AuditEvent {
            agent: principal.agent_id(),
            organisation: principal.organisation_id(),
            action: "piece.read_original",
            dossier: Some(dossier.id),
            piece: Some(piece.id),
            version: Some(version.id),
            outcome: "ok",
            purpose: Some(principal.purpose(Action::PieceReadOriginal).as_str()),
        })
        .await?;
    let body = open_original(&vault, &dk, &version).await?;
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(version.size_bytes));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&version.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(resp)
}

/// Opens a version's original for reading: verifies the header and first
/// chunk now, the rest as it streams (an `Err` item ends the body early).
pub async fn open_original(
    vault: &Vault,
    dk: &DossierKey,
    version: &Version,
) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + 'static, Error> {
    let key = ObjectKey::Dossier { dossier: version.dossier_id, object: version.object_id };
    let mut reader = vault.store().reader(&key).await?;
    let mut header = [0u8; HEADER];
    let n = read_full(&mut reader, &mut header).await?;
    let opener = Opener::new(dk, version.object_id, &header[..n])?;
    let mut dec = Decrypting { reader, opener, next: None, object: version.object_id };
    let first = dec.next_chunk().await?;
    let rest = stream::try_unfold(dec, |mut d| async move {
        match d.next_chunk().await {
            Ok(Some(b)) => Ok(Some((b, d))),
            Ok(None) => Ok(None),
            Err(e) => {
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
