//! `GET /api/v1/dossiers/{nu}/pieces/{piece}/{original,rendition,thumbnail}[?version=N]`:
//! a version's content.
//!
//! * `original`: the bytes as deposited (signed PDFs stay verifiable), for
//!   the roles the policy allows (`piece.read_original`);
//! * `rendition`: the sanitised PDF rebuilt from pixels, what partners open
//!   (`piece.read_rendition`);
//! * `thumbnail`: a JPEG of the first page (`piece.read_rendition` too: it
//!   shows content).
//!
//! Each is decided by the policy first and traced before the first byte of
//! content is sent; each streams fail closed (see [`crate::sealed`]).

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::Response,
};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    db::pieces::Version,
    domain::journal::Recorded,
    error::Error,
    query::Query,
    reply::content,
    sealed::open_object,
};

#[derive(Debug, Default, Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
}

/// Which content of a version.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    Original,
    Rendition,
    Thumbnail,
}

impl Content {
    fn action(self) -> Action {
        match self {
            Self::Original => Action::PieceReadOriginal,
            Self::Rendition | Self::Thumbnail => Action::PieceReadRendition,
        }
    }

    /// What the journal records: the action, or a thumbnail read.
    fn recorded(self) -> Recorded {
        match self {
            Self::Original | Self::Rendition => self.action().into(),
            Self::Thumbnail => Recorded::PieceReadThumbnail,
        }
    }

    /// The object, its plaintext size and media type, and how to offer it.
    fn of(self, v: &Version) -> Result<(Uuid, u64, String, &'static str), Error> {
        let missing = || {
            Error::NotFound(
                "this version was stored before safe intake and has no rendition; its original is available to the \
                 roles allowed to read originals"
                    .into(),
            )
        };
        Ok(match self {
            Self::Original => (v.object_id, v.size_bytes, v.media_type.clone(), "attachment"),
            Self::Rendition => {
                let d = v.derived.ok_or_else(missing)?;
                (d.rendition.object_id, d.rendition.size, "application/pdf".into(), "inline")
            }
            Self::Thumbnail => {
                let d = v.derived.ok_or_else(missing)?;
                (d.thumbnail.object_id, d.thumbnail.size, "image/jpeg".into(), "inline")
            }
        })
    }
}

/// The handler of one kind of content: the three routes differ only in
/// what they serve.
pub fn handler(
    what: Content,
) -> impl Fn(
    State<Vault>,
    Principal,
    Path<(String, String)>,
    Query<VersionQuery>,
) -> BoxFuture<'static, Result<Response, Error>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(vault), principal, Path((nu, piece)), Query(q)| {
        Box::pin(async move { open_content(&vault, &principal, &nu, &piece, q.version, what).await })
    }
}

/// A version's content (the latest when `version` is `None`), decided by
/// the policy first and traced before its first byte.
pub async fn open_content(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    piece: &str,
    version: Option<i64>,
    what: Content,
) -> Result<Response, Error> {
    let opened = access::open(vault, principal, nu, what.action()).await?;
    let (version, dk) = opened.content(piece, version).await?;
    let (object, size, media_type, disposition) = what.of(&version)?;
    // The row must still name the objects its sealed metadata binds.
    super::SealedMeta::open(&dk, &version)?;
    // The trace is committed before the first byte of content is sent.
    opened.record(what.recorded(), Some((version.piece_id, version.id))).await?;
    let body = open_object(vault, &dk, object).await?;
    // Renditions and thumbnails came out of the intake worker, which an
    // attacker may control: sandboxed like the original.
    let mut resp = content(Body::from_stream(body), &media_type, disposition, true);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(resp)
}
