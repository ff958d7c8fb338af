//! Reading a dossier's stored objects back and verifying them: each
//! version's original decrypted and its SHA-256 compared with the one
//! sealed at upload, its rendition and thumbnail decrypted end to end
//! (they have no sealed hash; every chunk authenticates). Shared by
//! `check --deep` and the scrubber.

use uuid::Uuid;

use crate::{
    app::Vault,
    crypto::{DossierKey, Sha256},
    db::{pieces::Version, scrub::Part},
    error::Error,
    pieces::SealedMeta,
    sealed::open_object,
};

/// One stored object of a version, verified.
#[derive(Debug, Clone, Copy)]
pub(super) struct Checked {
    pub object: Uuid,
    pub piece: Uuid,
    pub version: Uuid,
    pub part: Part,
    /// Its plaintext size.
    pub size: u64,
    pub sound: bool,
}

/// Verifies every object of `dossier`'s versions but those `skip` names
/// (already known missing, say), in version order: original, rendition,
/// thumbnail.
pub(super) async fn verify_dossier(
    vault: &Vault,
    dk: &DossierKey,
    dossier: Uuid,
    skip: impl Fn(Uuid) -> bool,
) -> Result<Vec<Checked>, Error> {
    let mut out = Vec::new();
    for v in vault.db().versions_of_dossier(dossier).await? {
        let mut objects = vec![(Part::Original, v.object_id, v.size_bytes)];
        if let Some(d) = v.derived {
            objects.push((Part::Rendition, d.rendition.object_id, d.rendition.size));
            objects.push((Part::Thumbnail, d.thumbnail.object_id, d.thumbnail.size));
        }
        for (part, object, size) in objects.into_iter().filter(|o| !skip(o.1)) {
            let sound = match part {
                Part::Original => original_matches(vault, dk, &v).await?,
                Part::Rendition | Part::Thumbnail => object_opens(vault, dk, object).await,
            };
            out.push(Checked { object, piece: v.piece_id, version: v.id, part, size, sound });
        }
    }
    Ok(out)
}

/// Decrypts a version's original and compares its SHA-256 with the sealed
/// one; a row that no longer names the objects its metadata binds fails.
async fn original_matches(vault: &Vault, dk: &DossierKey, v: &Version) -> Result<bool, Error> {
    use futures_util::StreamExt;
    let Ok(expected) = SealedMeta::open(dk, v).map(|m| m.sha256) else { return Ok(false) };
    let Ok(stream) = open_object(vault, dk, v.object_id).await else { return Ok(false) };
    let mut stream = std::pin::pin!(stream);
    let mut hash = Sha256::default();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(b) => hash.update(&b),
            Err(_) => return Ok(false),
        }
    }
    Ok(hex::encode(hash.finish()) == expected)
}

/// Whether an object decrypts and authenticates to its end.
async fn object_opens(vault: &Vault, dk: &DossierKey, object: Uuid) -> bool {
    use futures_util::StreamExt;
    let Ok(stream) = open_object(vault, dk, object).await else { return false };
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        if chunk.is_err() {
            return false;
        }
    }
    true
}
