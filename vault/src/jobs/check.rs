//! `dnu-vault check`: does every registered object exist in the store with
//! the length it was committed with? With `--deep`, decrypt every original
//! and compare its SHA-256 with the one sealed at upload, and decrypt every
//! rendition and thumbnail end to end. Used after a crash,
//! a restore, or a storage incident.

use std::collections::HashMap;

use uuid::Uuid;

use super::verify::verify_dossier;
use crate::{app::Vault, error::Error, store::ObjectKey};

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
            let known = |o: Uuid| report.missing.contains(&o) || report.wrong_length.contains(&o);
            for c in verify_dossier(vault, &dk, *dossier, known).await? {
                if c.sound {
                    report.verified += 1;
                } else {
                    report.corrupt.push(c.object);
                }
            }
        }
    }
    Ok(report)
}
