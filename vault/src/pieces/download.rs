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
//! content is sent; each streams fail closed (see [`super::content`]).

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{content::open_object, show::find_piece};
use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    db::{audit::AuditEvent, pieces::Version},
    error::Error,
};

#[derive(Debug, Default, Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
}

/// Which content of a version.
#[derive(Debug, Clone, Copy)]
enum Content {
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

    fn audit_action(self) -> &'static str {
        match self {
            Self::Original => "piece.read_original",
            Self::Rendition => "piece.read_rendition",
            Self::Thumbnail => "piece.read_thumbnail",
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

pub async fn original(
    vault: State<Vault>,
    principal: Principal,
    path: Path<(String, String)>,
    q: Query<VersionQuery>,
) -> Result<Response, Error> {
    send(vault, principal, path, q, Content::Original).await
}

pub async fn rendition(
    vault: State<Vault>,
    principal: Principal,
    path: Path<(String, String)>,
    q: Query<VersionQuery>,
) -> Result<Response, Error> {
    send(vault, principal, path, q, Content::Rendition).await
}

pub async fn thumbnail(
    vault: State<Vault>,
    principal: Principal,
    path: Path<(String, String)>,
    q: Query<VersionQuery>,
) -> Result<Response, Error> {
    send(vault, principal, path, q, Content::Thumbnail).await
}

async fn send(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, piece)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
    what: Content,
) -> Result<Response, Error> {
    let (dossier, piece) = find_piece(&vault, &nu, &piece).await?;
    authorize(&vault, &principal, what.action(), Resource::Dossier(&dossier)).await?;
    let versions = vault.db().versions_of(piece.id).await?;
    let version = match q.version {
        None => versions.last(),
        Some(n) => versions.iter().find(|v| v.number == n),
    }
    .ok_or_else(|| Error::NotFound("no such version of this piece".into()))?;
    let (object, size, media_type, disposition) = what.of(version)?;
    let dk = vault.dossier_key(dossier.id).await?;
    // The trace is committed before the first byte of content is sent.
    vault
        .db()
        .record(&AuditEvent {
            piece: Some(piece.id),
            version: Some(version.id),
            ..principal.access_event(what.action(), what.audit_action(), dossier.id)
        })
        .await?;
    let body = open_object(&vault, &dk, object).await?;
    let mut resp = content(Body::from_stream(body), &media_type, disposition, matches!(what, Content::Original));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(resp)
}

/// A response carrying document content: its type, how to offer it
/// (`attachment; filename=…` or `inline`), never cached, never sniffed.
/// The vault's own PDFs (renditions, exports, sheets: pixels only) may open
/// in the browser's viewer; anything else (`hostile`: an original as
/// deposited) is sandboxed so nothing in it can run even if it is opened.
pub fn content(body: Body, media_type: &str, disposition: &str, hostile: bool) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if hostile {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    }
    resp
}
