//! `dnu-vault check`: does every registered object exist in the store with
//! the length it was committed with? With `--deep`, decrypt every original
//! and compare its SHA-256 with the one sealed at upload, and decrypt every
//! rendition and thumbnail end to end. Used after a crash,
//! a restore, or a storage incident.

use std::collections::HashMap;

use uuid::Uuid;

use crate::{
    app::Vault,
    crypto::{DossierKey, Sha256},
    db::pieces::Version,
    error::Error,
    pieces::SealedMeta,
    sealed::open_object,
    store::ObjectKey,
};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub objects: usize,
    pub missing: Vec<Uuid>,
    pub wrong_length: Vec<Uuid>,
    /// Dossiers whose key was shredded: their objects are not expected.
    pub erased_dossiers: usize,
    pub verified: usize,
    pub corrupt: Vec<Uuid>,
    /// What the scrubber found and no later pass has seen sound again.
    pub scrubbed_bad: Vec<crate::db::scrub::Listed>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.wrong_length.is_empty()
            && self.corrupt.is_empty()
            && self.scrubbed_bad.is_empty()
    }
}

pub async fn check(vault: &Vault, deep: bool, mut progress: impl FnMut(usize, usize)) -> Result<CheckReport, Error> {
    let mut report = CheckReport::default();
    let objects = vault.db().registered_objects().await?;
    let total = objects.len();
    // Whether each dossier still has its key, asked once per dossier.
    let mut alive: HashMap<Uuid, bool> = HashMap::new();
    for (i, (object, dossier, stored_len)) in objects.into_iter().enumerate() {
        let has_key = match alive.get(&dossier) {
            Some(a) => *a,
            None => {
                let a = vault.db().wrapped_key(dossier).await?.is_some();
                alive.insert(dossier, a);
                a
            }
        };
        if !has_key {
            continue;
        }
        report.objects += 1;
        match vault.store().len(&ObjectKey::Dossier { dossier, object }).await? {
            None => report.missing.push(object),
            Some(n) if n != stored_len => report.wrong_length.push(object),
            Some(_) => {}
        }
        if i % 100 == 99 {
            progress(i + 1, total);
        }
    }
    report.erased_dossiers = alive.values().filter(|a| !**a).count();
    report.scrubbed_bad = vault.db().findings().await?;
    if deep {
        for (dossier, _) in alive.iter().filter(|(_, a)| **a) {
            let dk = vault.dossier_key(*dossier).await?;
            for v in vault.db().versions_of_dossier(*dossier).await? {
                if report.missing.contains(&v.object_id) || report.wrong_length.contains(&v.object_id) {
                    continue;
                }
                if original_matches(vault, &dk, &v).await? {
                    report.verified += 1;
                } else {
                    report.corrupt.push(v.object_id);
                }
                // Renditions and thumbnails have no sealed hash: decrypting
                // them end to end authenticates every chunk.
                for d in v.derived.iter().flat_map(|d| [d.rendition, d.thumbnail]) {
                    if report.missing.contains(&d.object_id) || report.wrong_length.contains(&d.object_id) {
                        continue;
                    }
                    if object_opens(vault, &dk, d.object_id).await {
                        report.verified += 1;
                    } else {
                        report.corrupt.push(d.object_id);
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Decrypts a version's original and compares its SHA-256 with the sealed
/// one; a row that no longer names the objects its metadata binds fails.
pub(super) async fn original_matches(vault: &Vault, dk: &DossierKey, v: &Version) -> Result<bool, Error> {
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
pub(super) async fn object_opens(vault: &Vault, dk: &DossierKey, object: Uuid) -> bool {
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
