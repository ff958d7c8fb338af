//! Pieces justificatives: upload (through safe intake), metadata, and each
//! version's original, sanitised rendition and thumbnail.

mod body;
mod commit;
pub mod download;
pub mod marks;
pub mod show;
pub mod upload;

use dnu_api::scan::ScanProvenance;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use body::UploadBody;
pub use commit::{Uploader, commit};
pub use download::{Content, open_content};
pub use show::show_piece;
pub use upload::{UploadView, store_upload};

use crate::{
    access::Opened,
    crypto::DossierKey,
    db::pieces::{Member, Piece, Version},
    error::Error,
};

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
    /// The piece and objects of this version, role by role. The row's
    /// columns are not authenticated; this is: a row whose objects were
    /// swapped with another version's (or its rendition with its original)
    /// no longer matches, and is refused on read. Absent only in versions
    /// sealed before the binding existed, until `dnu-vault reseal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<Binding>,
}

/// What a version's sealed metadata binds it to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Binding {
    pub piece: Uuid,
    pub original: Uuid,
    pub rendition: Option<Uuid>,
    pub thumbnail: Option<Uuid>,
}

impl Binding {
    /// The version's objects: original, then rendition and thumbnail.
    pub fn objects(&self) -> impl Iterator<Item = Uuid> {
        [Some(self.original), self.rendition, self.thumbnail].into_iter().flatten()
    }

    /// What the row says.
    pub fn of(v: &Version) -> Self {
        Self {
            piece: v.piece_id,
            original: v.object_id,
            rendition: v.derived.map(|d| d.rendition.object_id),
            thumbnail: v.derived.map(|d| d.thumbnail.object_id),
        }
    }
}

impl SealedMeta {
    /// Opens a version's metadata and checks that the row still names the
    /// piece and objects it was sealed with: every read of a version's
    /// content goes through here first.
    pub fn open(dk: &DossierKey, v: &Version) -> Result<Self, Error> {
        let meta = Self::open_unbound(dk, v)?;
        match meta.bound {
            Some(b) if b != Binding::of(v) => Err(Error::Integrity(format!(
                "version {} no longer names the piece or objects it was stored with (database altered)",
                v.id
            ))),
            _ => Ok(meta),
        }
    }

    /// Opens without checking the binding (for `reseal`, which adds it).
    pub fn open_unbound(dk: &DossierKey, v: &Version) -> Result<Self, Error> {
        let raw = dk.open_meta(v.id, &v.sealed_meta)?;
        serde_json::from_slice(&raw).map_err(|_| Error::Integrity("sealed metadata is not readable".into()))
    }

    /// Sealed under `dk`, bound to `version`.
    pub fn seal(&self, dk: &DossierKey, version: Uuid) -> Result<Vec<u8>, Error> {
        let plain = serde_json::to_vec(self).map_err(|e| Error::internal("sealing metadata", e))?;
        Ok(dk.seal_meta(version, &plain)?)
    }
}

/// A household member's name sealed to its piece.
pub fn seal_member(dk: &DossierKey, piece: Uuid, name: &str) -> Result<Vec<u8>, Error> {
    Ok(dk.seal_meta(piece, name.as_bytes())?)
}

/// The household member a piece concerns, opened.
pub fn member_of(dk: &DossierKey, p: &Piece) -> Result<Option<String>, Error> {
    match &p.member {
        Member::None => Ok(None),
        Member::Legacy(name) => Ok(Some(name.clone())),
        Member::Sealed(sealed) => {
            let raw = dk.open_meta(p.id, sealed)?;
            String::from_utf8(raw).map(Some).map_err(|_| Error::Integrity("sealed member name is not text".into()))
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
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
    /// An agent's mark (inexploitable, hors périmètre, obsolète), if one stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<marks::MarkView>,
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
            mark: None,
        }
    }
}

/// A piece in a dossier listing: its latest version only.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PieceSummary {
    pub id: Uuid,
    pub kind: String,
    pub member: Option<String>,
    pub valid_until: Option<String>,
    /// `valid`, `expiring` (within 31 days), `expired` or `unknown`, today.
    pub validity: crate::domain::PieceValidity,
    pub versions: usize,
    pub current: Option<VersionView>,
}

pub(crate) fn piece_fields(dk: &DossierKey, p: &Piece) -> Result<(String, Option<String>, Option<String>), Error> {
    Ok((p.kind.to_string(), member_of(dk, p)?, p.valid_until.map(crate::clock::iso_date)))
}

/// Summaries of every piece of a dossier opened for reading.
pub async fn summaries(opened: &Opened<'_>) -> Result<Vec<PieceSummary>, Error> {
    let (vault, dossier) = (opened.vault(), opened.dossier());
    let pieces = vault.db().pieces_of(dossier.id).await?;
    if pieces.is_empty() || dossier.shredded {
        return Ok(Vec::new());
    }
    let dk = opened.key().await?;
    let mut marks = marks::marks_by_version(vault, &dk, dossier.id).await?;
    // Every version of the dossier in one query, not one per piece: a
    // dossier fetch under load spent most of its round trips here.
    let mut by_piece: std::collections::HashMap<Uuid, Vec<Version>> = std::collections::HashMap::new();
    for v in vault.db().versions_of_dossier(dossier.id).await? {
        by_piece.entry(v.piece_id).or_default().push(v);
    }
    let mut out = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let mut versions = by_piece.remove(&p.id).unwrap_or_default();
        versions.sort_by_key(|v| v.number);
        let current = versions
            .last()
            .map(|v| {
                Ok::<_, Error>(VersionView {
                    mark: marks.remove(&v.id),
                    ..VersionView::new(v, SealedMeta::open(&dk, v)?)
                })
            })
            .transpose()?;
        let (kind, member, valid_until) = piece_fields(&dk, p)?;
        let validity = crate::domain::PieceValidity::of(p.valid_until, crate::clock::today());
        out.push(PieceSummary { id: p.id, kind, member, valid_until, validity, versions: versions.len(), current });
    }
    Ok(out)
}
