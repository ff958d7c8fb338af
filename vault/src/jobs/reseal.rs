//! `dnu-vault keys reseal`: seals what older versions of the vault kept
//! readable or unbound in the database — household members' names stored
//! in clear, and version metadata sealed before it named the version's
//! piece and objects. Each row is rewritten in its own statement,
//! conditional on still being the one read, so the job can be stopped at
//! any point and run again.

use crate::{
    app::Vault,
    crypto::DossierKey,
    db::pieces::Member,
    error::Error,
    pieces::{Binding, SealedMeta, seal_member},
};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealReport {
    pub dossiers: u64,
    /// Member names moved from clear to sealed.
    pub members: u64,
    /// Version metadata now bound to its piece and objects.
    pub versions: u64,
}

/// Runs to completion; `progress(report)` after each dossier that changed.
pub async fn reseal_all(vault: &Vault, mut progress: impl FnMut(&ResealReport)) -> Result<ResealReport, Error> {
    let mut report = ResealReport::default();
    for dossier in vault.db().dossiers_with_pieces().await? {
        // Shredded meanwhile: nothing of it can (or need) be sealed.
        let Some(wrapped) = vault.db().wrapped_key(dossier).await? else { continue };
        let dk = DossierKey::unwrap(dossier, &wrapped, &vault.keys())?;
        let sealed_before = report.members + report.versions;
        for piece in vault.db().pieces_of(dossier).await? {
            if let Member::Legacy(name) = &piece.member {
                vault.db().reseal_member(piece.id, &seal_member(&dk, piece.id, name)?).await?;
                report.members += 1;
            }
            for v in vault.db().versions_of(piece.id).await? {
                let mut meta = SealedMeta::open_unbound(&dk, &v)?;
                if meta.bound.is_some() {
                    continue;
                }
                // The row as it is now is taken as the truth: run this
                // right after upgrading, before anyone could alter rows.
                meta.bound = Some(Binding::of(&v));
                vault.db().reseal_version_meta(v.id, &v.sealed_meta, &meta.seal(&dk, v.id)?).await?;
                report.versions += 1;
            }
        }
        if report.members + report.versions > sealed_before {
            report.dossiers += 1;
            progress(&report);
        }
    }
    Ok(report)
}
