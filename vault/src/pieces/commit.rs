//! Committing a sealed upload as a version of a piece: its sealed
//! metadata, the version row, the audit event, in one transaction.

use dnu_api::scan::ScanProvenance;
use uuid::Uuid;

use super::{Binding, SealedMeta};
use crate::{
    app::Vault,
    crypto::DossierKey,
    db::pieces::{Committed, Derived, DerivedObject, NewVersion, PieceTarget},
    domain::journal::Actor,
    error::Error,
    sealed::Accepted,
};

/// Who is storing the piece.
#[derive(Debug, Clone)]
pub struct Uploader {
    /// Who, for what (neither id for the applicant).
    pub actor: Actor,
    /// The client's `Idempotency-Key`, if it sent one.
    pub idempotency_key: Option<String>,
    /// Provenance of a piece scanned by `scanner-ingest`.
    pub scan: Option<ScanProvenance>,
}

/// Commits a staged upload as a new version of `target`. A duplicate of
/// bytes the dossier already holds discards the staged objects and returns
/// the existing version.
pub async fn commit(
    vault: &Vault,
    dk: &DossierKey,
    accepted: &Accepted,
    target: &PieceTarget,
    filename: Option<String>,
    declared_type: Option<String>,
    by: Uploader,
) -> Result<Committed, Error> {
    let staged = &accepted.original;
    let version_id = Uuid::new_v4();
    let piece = match target {
        PieceTarget::New { id, .. } | PieceTarget::Existing(id) => *id,
    };
    let bound = Binding {
        piece,
        original: staged.key.object(),
        rendition: Some(accepted.rendition.key.object()),
        thumbnail: Some(accepted.thumbnail.key.object()),
    };
    let meta = SealedMeta {
        sha256: hex::encode(staged.sha256),
        filename,
        declared_type,
        scan: by.scan.clone(),
        bound: Some(bound),
    };
    let sealed_meta = meta.seal(dk, version_id)?;
    let new = NewVersion {
        id: version_id,
        dossier_id: dk.dossier(),
        object_id: staged.key.object(),
        stored_len: staged.stored_len,
        fingerprint: dk.fingerprint(&staged.sha256),
        size_bytes: staged.size,
        media_type: accepted.media_type.clone(),
        sealed_meta,
        by: by.actor,
        idempotency_key: by.idempotency_key.clone(),
        derived: Derived {
            pages: accepted.pages,
            rendition: DerivedObject { object_id: accepted.rendition.key.object(), size: accepted.rendition.size },
            thumbnail: DerivedObject { object_id: accepted.thumbnail.key.object(), size: accepted.thumbnail.size },
        },
    };
    match vault.db().commit_version(target, &new).await {
        Ok(c @ Committed::Created(..)) => Ok(c),
        Ok(c @ Committed::Duplicate(..)) => {
            accepted.discard(vault).await;
            Ok(c)
        }
        // A database error may hide a commit that did happen (the reply was
        // lost): never delete then, the garbage collector checks the registry.
        Err(e @ Error::Database(_)) => Err(e),
        Err(e) => {
            accepted.discard(vault).await;
            Err(e)
        }
    }
}
