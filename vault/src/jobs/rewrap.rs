//! `dnu-vault keys rewrap`: rewraps every dossier key to the newest master
//! key version. Data is not re-encrypted. Each dossier key is replaced in
//! its own statement, conditional on still being the one read, so the job
//! can be killed at any point and run again: it resumes with what is left.

use crate::{app::Vault, crypto::DossierKey, error::Error};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RewrapReport {
    pub rewrapped: u64,
    /// Keys changed by someone else meanwhile (shredded, rewrapped).
    pub skipped: u64,
}

/// Runs to completion; `progress(done, remaining_in_batch)` is called after
/// every batch.
pub async fn rewrap_all(vault: &Vault, batch: i64, mut progress: impl FnMut(u64)) -> Result<RewrapReport, Error> {
    // Read the ring afresh: `keys rotate` may have run since this process
    // loaded it, and rewrapping to a stale "current" would do nothing.
    let keys = vault.reload_keys()?;
    let current = keys.current();
    let mut report = RewrapReport::default();
    loop {
        let rows = vault.db().keys_to_rewrap(current, batch.max(1)).await?;
        if rows.is_empty() {
            break;
        }
        for (dossier, old) in rows {
            let dk = DossierKey::unwrap(dossier, &old, &keys)?;
            let new = dk.wrap(&keys)?;
            if vault.db().replace_wrapped_key(dossier, &old, &new).await? {
                report.rewrapped += 1;
            } else {
                report.skipped += 1;
            }
        }
        progress(report.rewrapped);
    }
    Ok(report)
}
