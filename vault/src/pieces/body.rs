//! The body of an upload, guarded before the multipart parser sees it.
//!
//! The parser (multer, under axum's `Multipart`) buffers everything until
//! it finds the first boundary and every part's headers until their blank
//! line; upload routes switch axum's 2 MB body limit off because the file
//! is limited while it streams. Unguarded, a chunked body that never
//! contains the boundary grew the server by 382 MiB for 384 MiB sent. Here
//! the whole body is capped (the upload limit plus room for the form), and
//! the first boundary must come within [`PREAMBLE_MAX`] bytes, which every
//! client that writes multipart does (they send no preamble at all).
//!
//! A refusal decided before the body is read (no slot free, the dossier
//! full, no access) is answered after the body has been read off and
//! dropped ([`UploadBody::drain`]), within a bounded time: a server that
//! answers and closes while the client is still sending makes the client's
//! system reset the connection, and the client never sees the answer (942
//! of 3,111 refused uploads at 128 connections did not).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, BodyDataStream, Bytes},
    extract::{FromRequest, Multipart, Request},
    http::header,
};
use futures_util::{Stream, StreamExt};

use crate::{
    app::Vault,
    error::{BodyRefusal, Error},
};

/// Room allowed for multipart boundaries and text fields on top of the file.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Most bytes before the first boundary.
pub const PREAMBLE_MAX: usize = 4096;
/// Longest a refused upload's body is read off for before the connection
/// is closed anyway: ample for a phone's photo on a fair line, short enough
/// that a slow client holds the connection for seconds, not minutes.
pub const DRAIN_WINDOW: Duration = Duration::from_secs(5);

/// A multipart upload whose body is capped and must show its boundary early.
/// Rejects a body that is not `multipart/form-data` (415) before reading it.
/// Nothing is read until [`UploadBody::open`] or [`UploadBody::drain`].
#[derive(Debug)]
pub struct UploadBody(Request);

impl FromRequest<Vault> for UploadBody {
    type Rejection = Error;

    async fn from_request(req: Request, vault: &Vault) -> Result<Self, Error> {
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok())
            .ok_or_else(|| {
                Error::UnsupportedMediaType(
                    "expected a multipart/form-data body with a boundary: send the piece as multipart/form-data".into(),
                )
            })?;
        // Silence and slowness are watched for every body, uploads included
        // (`listener::watch_body`).
        let limit = vault.config().max_upload_bytes;
        let req = req.map(|body| Body::from_stream(Guarded::new(body.into_data_stream(), &boundary, limit)));
        Ok(Self(req))
    }
}

impl UploadBody {
    /// The form, parsed as it streams.
    pub async fn open(self, vault: &Vault) -> Result<Multipart, Error> {
        Ok(Multipart::from_request(self.0, vault).await?)
    }

    /// Reads the rest of the body and drops it, for at most
    /// [`DRAIN_WINDOW`] and at most the capped length (the guard still
    /// counts), without parsing it.
    pub async fn drain(self) {
        let mut stream = self.0.into_body().into_data_stream();
        let _ = tokio::time::timeout(DRAIN_WINDOW, async { while let Some(Ok(_)) = stream.next().await {} }).await;
    }
}

struct Guarded {
    inner: BodyDataStream,
    /// The upload limit, as told to the client.
    limit: u64,
    /// The limit plus room for the form: most bytes read.
    cap: u64,
    seen: u64,
    /// `--boundary`, looked for in `preamble` until found.
    marker: Vec<u8>,
    /// The start of the body while the first boundary is still unseen.
    preamble: Option<Vec<u8>>,
    failed: bool,
}

impl Guarded {
    fn new(inner: BodyDataStream, boundary: &str, limit: u64) -> Self {
        let marker = [b"--", boundary.as_bytes()].concat();
        let cap = limit.saturating_add(MULTIPART_OVERHEAD);
        Self { inner, limit, cap, seen: 0, marker, preamble: Some(Vec::new()), failed: false }
    }

    fn check(&mut self, chunk: &[u8]) -> Result<(), BodyRefusal> {
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if self.seen > self.cap {
            return Err(BodyRefusal::TooLarge { limit: self.limit });
        }
        if let Some(pre) = &mut self.preamble {
            let room = (PREAMBLE_MAX + self.marker.len()).saturating_sub(pre.len());
            pre.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if memchr::memmem::find(pre, &self.marker).is_some() {
                self.preamble = None;
            } else if pre.len() >= PREAMBLE_MAX + self.marker.len() {
                return Err(BodyRefusal::NoBoundary { within: PREAMBLE_MAX });
            }
        }
        Ok(())
    }
}

impl Stream for Guarded {
    type Item = Result<Bytes, axum::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => match self.check(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(e) => {
                    self.failed = true;
                    Poll::Ready(Some(Err(Box::new(e))))
                }
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard reading at most `cap` bytes.
    fn guard(cap: u64) -> Guarded {
        let mut g = Guarded::new(Body::empty().into_data_stream(), "XyZ", cap);
        g.cap = cap;
        g
    }

    #[test]
    fn the_boundary_must_come_early() {
        let mut g = guard(1 << 20);
        assert_eq!(g.check(b"--XyZ\r\nContent-Disposition: form-data"), Ok(()));
        assert_eq!(g.check(&[b'a'; 10_000]), Ok(()), "after the boundary, any content");
        let mut g = guard(1 << 20);
        // Split across chunks still counts.
        assert_eq!(g.check(b"\r\n--X"), Ok(()));
        assert_eq!(g.check(b"yZ\r\n"), Ok(()));
        assert!(g.preamble.is_none());
        let mut g = guard(1 << 20);
        let mut result = Ok(());
        for _ in 0..10 {
            result = result.and(g.check(&[b'a'; 1000]));
        }
        assert_eq!(result, Err(BodyRefusal::NoBoundary { within: PREAMBLE_MAX }));
    }

    #[test]
    fn the_whole_body_is_capped() {
        let mut g = guard(100);
        assert_eq!(g.check(b"--XyZ"), Ok(()));
        assert_eq!(g.check(&[0; 95]), Ok(()));
        assert!(matches!(g.check(&[0; 1]), Err(BodyRefusal::TooLarge { .. })));
    }
}
