//! Pieces justificatives: upload (through safe intake), metadata, and each
//! version's original, sanitised rendition and thumbnail.

mod content;
pub mod download;
mod ingest;
mod show;
pub mod upload;

use dnu_api::scan::ScanProvenance;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use content::{open_object, open_original};
pub use ingest::{Accepted, Staged, stage_original, stage_upload};

use crate::{
    app::Vault,
    crypto::DossierKey,
    db::{
        dossiers::Dossier,
        pieces::{Piece, Version},
    },
    error::Error,
    routes::{Auth, Consumes, Doc, Produces, Routes, Ty, opt, req},
};

pub fn router() -> Routes {
    Routes::new("pieces")
        .upload(
            "/api/v1/dossiers/{nu}/pieces",
            upload::upload,
            Doc::new(
                "uploadPiece",
                "Upload a piece (multipart: kind, optional member, valid_until, scan, file); Idempotency-Key header honoured",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Multipart,
                const { &[
                    opt("kind", Ty::Text, "the piece kind (see /api/v1/catalogue); required for a new piece"),
                    opt("piece", Ty::Uuid, "an existing piece of the dossier this file is a new version of"),
                    opt("member", Ty::Text, "the household member the piece concerns"),
                    opt("valid_until", Ty::Date, "end of validity, when the catalogue does not derive it"),
                    opt("scan", Ty::JsonText, "scan provenance {host, scanned_at, images_sha256} (agents only)"),
                    req("file", Ty::File, "the document: PDF, JPEG, PNG or TIFF"),
                ] },
            )
            .headers(&[(
                dnu_api::IDEMPOTENCY_KEY_HEADER,
                "a key naming this upload: sent again, it answers 200 with the version first filed under it",
            )])
            .success(201),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}",
            show::show,
            Doc::new("showPiece", "Piece metadata and versions", Auth::Bearer, Produces::Json),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/original",
            download::original,
            Doc::new("downloadOriginal", "The original bytes of a version (roles allowed by policy)", Auth::Bearer, Produces::Original)
                .query(&[("version", "version number (the latest if absent)")]),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/rendition",
            download::rendition,
            Doc::new("downloadRendition", "The sanitised PDF of a version", Auth::Bearer, Produces::Pdf)
                .query(&[("version", "version number (the latest if absent)")]),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/thumbnail",
            download::thumbnail,
            Doc::new("downloadThumbnail", "A PNG thumbnail of a version's first page", Auth::Bearer, Produces::Png)
                .query(&[("version", "version number (the latest if absent)")]),
        )
}

/// What is sealed in `piece_versions.sealed_meta`: the facts about an
/// original that are personal or that would let the database alone
/// recognise a document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedMeta {
    pub sha256: String,
    pub filename: Option<String>,
    pub declared_type: Option<String>,
    /// Where and how a scanned piece was digitised (absent for uploads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanProvenance>,
}

impl SealedMeta {
    pub fn open(dk: &DossierKey, v: &Version) -> Result<Self, Error> {
        let raw = dk.open_meta(v.id, &v.sealed_meta)?;
        serde_json::from_slice(&raw).map_err(|_| Error::Integrity("sealed metadata is not readable".into()))
    }
}

#[derive(Debug, Serialize)]
pub struct VersionView {
    pub id: Uuid,
    pub number: i64,
    pub size_bytes: u64,
    pub media_type: String,
    pub sha256: String,
    pub filename: Option<String>,
    pub uploaded_at: i64,
    pub uploaded_by_organisation: Option<Uuid>,
    pub uploaded_by_agent: Option<Uuid>,
    /// Pages of the rendition; absent for versions stored before safe intake.
    pub pages: Option<u64>,
    /// Whether a sanitised rendition (and thumbnail) can be fetched.
    pub rendition: bool,
    /// For a piece scanned at a guichet: the scanning host, when the batch
    /// was scanned, and the SHA-256 of each raw scan image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanProvenance>,
}

impl VersionView {
    pub fn new(v: &Version, meta: SealedMeta) -> Self {
        Self {
            id: v.id,
            number: v.number,
            size_bytes: v.size_bytes,
            media_type: v.media_type.clone(),
            sha256: meta.sha256,
            filename: meta.filename,
            uploaded_at: v.created_at,
            uploaded_by_organisation: v.uploaded_by_org,
            uploaded_by_agent: v.uploaded_by_agent,
            pages: v.derived.map(|d| d.pages),
            rendition: v.derived.is_some(),
            scan: meta.scan,
        }
    }
}

/// A piece in a dossier listing: its latest version only.
#[derive(Debug, Serialize)]
pub struct PieceSummary {
    pub id: Uuid,
    pub kind: String,
    pub member: Option<String>,
    pub valid_until: Option<String>,
    pub versions: usize,
    pub current: Option<VersionView>,
}

pub(crate) fn piece_fields(p: &Piece) -> (String, Option<String>, Option<String>) {
    (p.kind.to_string(), p.member.clone(), p.valid_until.map(crate::db::date_to_sql))
}

/// Summaries of every piece of a dossier.
pub async fn summaries(vault: &Vault, dossier: &Dossier) -> Result<Vec<PieceSummary>, Error> {
    let pieces = vault.db().pieces_of(dossier.id).await?;
    if pieces.is_empty() || dossier.shredded {
        return Ok(Vec::new());
    }
    let dk = vault.dossier_key(dossier.id).await?;
    let mut out = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let versions = vault.db().versions_of(p.id).await?;
        let current =
            versions.last().map(|v| Ok::<_, Error>(VersionView::new(v, SealedMeta::open(&dk, v)?))).transpose()?;
        let (kind, member, valid_until) = piece_fields(p);
        out.push(PieceSummary { id: p.id, kind, member, valid_until, versions: versions.len(), current });
    }
    Ok(out)
}
