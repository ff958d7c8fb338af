//! `dnu-vault gc`: removes what interrupted uploads left behind.
//!
//! An object in the store is kept if the registry (`objects`) knows it and
//! its dossier has not been shredded; otherwise, once it is older than the
//! grace period (so an upload still between "stored" and "committed" is
//! never touched), it is deleted. Unfinished temporary files and multipart
//! uploads older than the grace period go too.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, SystemTime},
};

use crate::{app::Vault, error::Error, store::ObjectKey};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub scanned: usize,
    pub kept: usize,
    pub too_recent: usize,
    pub deleted_orphans: usize,
    pub deleted_shredded: usize,
    pub incomplete_removed: usize,
}

pub async fn collect(vault: &Vault, grace: Duration) -> Result<GcReport, Error> {
    let before = SystemTime::now() - grace;
    let known: HashMap<_, _> = vault.db().registered_objects().await?.into_iter().map(|(o, d, _)| (o, d)).collect();
    let mut has_key: HashMap<uuid::Uuid, bool> = HashMap::new();
    let mut report = GcReport::default();
    let listed = vault.store().list().await?;
    let mut seen = HashSet::new();
    for item in listed {
        report.scanned += 1;
        let ObjectKey::Dossier { dossier, object } = item.key else { continue };
        seen.insert(object);
        if item.modified >= before {
            report.too_recent += 1;
            continue;
        }
        if known.get(&object) == Some(&dossier) {
            let alive = match has_key.get(&dossier) {
                Some(a) => *a,
                None => {
                    let a = vault.db().wrapped_key(dossier).await?.is_some();
                    has_key.insert(dossier, a);
                    a
                }
            };
            if alive {
                report.kept += 1;
            } else {
                vault.store().delete(&item.key).await?;
                report.deleted_shredded += 1;
            }
        } else {
            vault.store().delete(&item.key).await?;
            report.deleted_orphans += 1;
        }
    }
    report.incomplete_removed = vault.store().clean_incomplete(before).await?;
    tracing::info!(
        scanned = report.scanned,
        deleted_orphans = report.deleted_orphans,
        deleted_shredded = report.deleted_shredded,
        incomplete_removed = report.incomplete_removed,
        "garbage collection done"
    );
    Ok(report)
}
