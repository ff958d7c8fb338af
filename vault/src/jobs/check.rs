//! `dnu-vault check`: does every registered object exist in the store with
//! the length it was committed with? With `--deep`, decrypt every original
//! and compare its SHA-256 with the one sealed at upload. Used after a crash,
//! a restore, or a storage incident.

use uuid::Uuid;

use crate::{
    app::Vault,
    crypto::Sha256,
    error::Error,
    pieces::{SealedMeta, open_original},
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
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.wrong_length.is_empty() && self.corrupt.is_empty()
    }
}

pub async fn check(vault: &Vault, deep: bool, mut progress: impl FnMut(usize, usize)) -> Result<CheckReport, Error> {
    let mut report = CheckReport::default();
    let objects = vault.db().registered_objects().await?;
    let total = objects.len();
    let mut erased = std::collections::HashSet::new();
    for (i, (object, dossier, stored_len)) in objects.into_iter().enumerate() {
        if erased.contains(&dossier) || vault.db().wrapped_key(dossier).await?.is_none() {
            erased.insert(dossier);
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
    report.erased_dossiers = erased.len();
    if deep {
        use futures_util::StreamExt;
        for dossier in vault.db().dossier_ids().await? {
            if erased.contains(&dossier) || vault.db().wrapped_key(dossier).await?.is_none() {
                continue;
            }
            for v in vault.db().versions_of_dossier(dossier).await? {
                if report.missing.contains(&v.object_id) {
                    continue;
                }
                let expected = SealedMeta::open(&vault.dossier_key(dossier).await?, &v)?.sha256;
                let mut hash = Sha256::default();
                let ok = match open_original(vault, vault.dossier_key(dossier).await?, &v).await {
                    Ok(s) => {
                        let mut s = std::pin::pin!(s);
                        let mut ok = true;
                        while let Some(chunk) = s.next().await {
                            match chunk {
                                Ok(b) => hash.update(&b),
                                Err(_) => {
                                    ok = false;
                                    break;
                                }
                            }
                        }
                        ok && hex::encode(hash.finish()) == expected
                    }
                    Err(_) => false,
                };
                if ok {
                    report.verified += 1;
                } else {
                    report.corrupt.push(v.object_id);
                }
            }
        }
    }
    Ok(report)
}
