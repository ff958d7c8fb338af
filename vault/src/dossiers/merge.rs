//! `POST /api/v1/dossiers/{nu}/merges`: several numbers of one applicant
//! made one (CCH R.441-2-8 (f)). The number in the path is kept; the one
//! absorbed is radiated for `fusion`. The kept demand takes the older
//! deposit date (its seniority), the later validity end and the communes
//! of both; the absorbed pieces move into it with their versions and
//! marks, and its history is shown in the kept dossier's trace.
//!
//! Each dossier has its own key, so a moved object is decrypted under
//! the absorbed key and sealed again under the kept one, into a new
//! object, before anything is committed; the rows then move in one
//! transaction, and the absorbed objects are removed after it. A failure
//! before the commit leaves both dossiers as they were (the copies are
//! discarded, or collected by `gc`). Bytes the kept dossier already holds
//! are stored once: such a version is not copied.

use std::collections::{HashMap, HashSet};

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    lifecycle::still_active,
    show::{DossierView, view},
};
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    crypto::DossierKey,
    db::{
        contacts::SealedRecord,
        merges::{CopiedObject, Merge, MovedVersion},
        pieces::Version,
    },
    error::Error,
    pieces::{Binding, SealedMeta, member_of, seal_member},
    sealed::{Staged, open_object, stage_original},
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The numéro unique merged into the one in the path.
    absorb: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MergeView {
    /// The number radiated for `fusion`.
    pub absorbed: String,
    /// Versions moved, sealed again under the kept dossier's key.
    pub versions_moved: usize,
    /// Versions whose bytes the kept dossier already held (kept once).
    pub versions_already_held: usize,
    /// The kept dossier, as it is now.
    pub dossier: DossierView,
}

/// Merges `absorbed_nu` into `kept_nu`. Whoever may radiate both may
/// merge them; both must be active.
pub async fn merge_dossiers(
    vault: &Vault,
    principal: &Principal,
    kept_nu: &str,
    absorbed_nu: &str,
) -> Result<MergeView, Error> {
    // Read first: a radiated number is a 409 said to those who may read
    // it (the policy set's freeze would otherwise answer a bare 403).
    let kept = access::open(vault, principal, kept_nu, Action::DossierRead).await?;
    let absorbed = access::open(vault, principal, absorbed_nu, Action::DossierRead).await?;
    if kept.dossier().id == absorbed.dossier().id {
        return Err(Error::Invalid("absorb: a number cannot be merged into itself".into()));
    }
    still_active(kept.dossier())?;
    still_active(absorbed.dossier())?;
    let kept = kept.and(Action::DossierRadiate).await?;
    let absorbed = absorbed.and(Action::DossierRadiate).await?;
    let (kdk, adk) = (kept.key().await?, absorbed.key().await?);
    let (k, a) = (kept.dossier(), absorbed.dossier());
    let mut plan = Merge {
        kept: k.id,
        absorbed: a.id,
        on: crate::clock::today(),
        deposited_on: k.deposited_on.min(a.deposited_on),
        valid_until: k.valid_until.max(a.valid_until),
        objects: Vec::new(),
        pieces: Vec::new(),
        versions: Vec::new(),
        dropped: Vec::new(),
        marks: Vec::new(),
    };
    let mut copies = Vec::new();
    let mut old_objects = Vec::new();
    let planned = plan_moves(vault, &adk, &kdk, &mut plan, &mut copies, &mut old_objects).await;
    let outcome = match planned {
        Ok(()) => vault.db().merge_dossiers(&plan, principal.actor(Action::DossierRadiate)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => {
            discard(vault, &copies).await;
            return Err(Error::Conflict(
                "one of the two dossiers changed meanwhile (radiated, or a piece was added): nothing was merged; \
                 try again"
                    .into(),
            ));
        }
        // The commit may have happened with its reply lost: the copies
        // stay (gc removes them if no row names them).
        Err(e @ Error::Database(_)) => return Err(e),
        Err(e) => {
            discard(vault, &copies).await;
            return Err(e);
        }
    }
    for object in old_objects {
        let key = crate::store::ObjectKey::Dossier { dossier: a.id, object };
        if let Err(e) = vault.store().delete(&key).await {
            tracing::warn!(object.id = %object, error = %e, "absorbed object left for gc");
        }
    }
    tracing::info!(dossier.id = %k.id, absorbed.id = %a.id, versions = plan.versions.len(), "numbers merged");
    let updated = vault
        .db()
        .dossier_by_nu(&k.numero_unique)
        .await?
        .ok_or_else(|| Error::Integrity("dossier vanished after a merge".into()))?;
    Ok(MergeView {
        absorbed: a.numero_unique.to_string(),
        versions_moved: plan.versions.len(),
        versions_already_held: plan.dropped.len(),
        dossier: view(&kept, &updated).await?,
    })
}

/// Reads the absorbed dossier and fills `plan`: each version's objects
/// sealed again under `kdk` (`copies`, to discard on failure), the
/// objects they replace (`old`), names and reasons sealed again.
async fn plan_moves(
    vault: &Vault,
    adk: &DossierKey,
    kdk: &DossierKey,
    plan: &mut Merge,
    copies: &mut Vec<Staged>,
    old: &mut Vec<Uuid>,
) -> Result<(), Error> {
    let mut held: HashSet<Vec<u8>> =
        vault.db().versions_of_dossier(plan.kept).await?.into_iter().map(|v| v.fingerprint).collect();
    let mut moved = HashSet::new();
    // Every version of the absorbed dossier in one read, then piece by piece.
    let mut versions: HashMap<Uuid, Vec<Version>> = HashMap::new();
    for v in vault.db().versions_of_dossier(plan.absorbed).await? {
        versions.entry(v.piece_id).or_default().push(v);
    }
    for piece in vault.db().pieces_of(plan.absorbed).await? {
        let member = member_of(adk, &piece)?.map(|name| seal_member(kdk, piece.id, &name)).transpose()?;
        let mut any = false;
        for v in versions.remove(&piece.id).unwrap_or_default() {
            let mut meta = SealedMeta::open(adk, &v)?;
            let sha256: [u8; 32] = hex::decode(&meta.sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::Integrity("a version's sealed digest is malformed".into()))?;
            let fingerprint = kdk.fingerprint(&sha256).to_vec();
            // Moved or already held, its objects here are replaced.
            old.extend(Binding::of(&v).objects());
            if !held.insert(fingerprint.clone()) {
                plan.dropped.push(v.id);
                continue;
            }
            let original = copy(vault, adk, kdk, v.object_id, copies).await?;
            if original.sha256 != sha256 {
                return Err(Error::Integrity(format!("version {} does not hash to its sealed digest", v.id)));
            }
            plan.objects.push(CopiedObject {
                id: original.key.object(),
                role: "original",
                stored_len: original.stored_len,
            });
            let mut derived = [None, None];
            if let Some(d) = v.derived {
                for (slot, (role, object)) in
                    derived.iter_mut().zip([("rendition", d.rendition.object_id), ("thumbnail", d.thumbnail.object_id)])
                {
                    let c = copy(vault, adk, kdk, object, copies).await?;
                    plan.objects.push(CopiedObject { id: c.key.object(), role, stored_len: c.stored_len });
                    *slot = Some(c.key.object());
                }
            }
            let [rendition, thumbnail] = derived;
            meta.bound = Some(Binding { piece: piece.id, original: original.key.object(), rendition, thumbnail });
            plan.versions.push(MovedVersion {
                id: v.id,
                object_id: original.key.object(),
                rendition,
                thumbnail,
                fingerprint,
                sealed_meta: meta.seal(kdk, v.id)?,
            });
            moved.insert(v.id);
            any = true;
        }
        if any {
            plan.pieces.push((piece.id, member));
        }
    }
    for m in vault.db().marks_of(plan.absorbed).await? {
        if !moved.contains(&m.version) {
            continue;
        }
        let reason: String = crate::sealed::records::open(adk, &SealedRecord { id: m.id, sealed: m.sealed_reason })?;
        plan.marks.push((m.id, crate::sealed::records::seal_as(kdk, m.id, &reason)?.sealed));
    }
    Ok(())
}

/// One object of the absorbed dossier, decrypted and sealed again under
/// the kept key into a new object.
async fn copy(
    vault: &Vault,
    from: &DossierKey,
    to: &DossierKey,
    object: Uuid,
    copies: &mut Vec<Staged>,
) -> Result<Staged, Error> {
    let body = Box::pin(open_object(vault, from, object).await?);
    let staged = stage_original(vault, to, body, u64::MAX, None).await?;
    copies.push(staged.clone());
    Ok(staged)
}

async fn discard(vault: &Vault, copies: &[Staged]) {
    for c in copies {
        c.discard(vault).await;
    }
}

pub async fn merge(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    input: Result<Json<MergeInput>, JsonRejection>,
) -> Result<Json<MergeView>, Error> {
    let Json(input) = input.map_err(|e| Error::BadRequest(e.body_text()))?;
    merge_dossiers(&vault, &principal, &nu, &input.absorb).await.map(Json)
}
