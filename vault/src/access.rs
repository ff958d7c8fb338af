//! The access seam: the one way a feature reaches a dossier.
//!
//! [`open`] parses the numéro unique, finds the dossier and asks the
//! policy (a denial is traced before it is returned). Only what it hands
//! back — an [`Opened`] dossier — can then resolve pieces and versions,
//! unwrap the dossier key and record the access event, in that order:
//! parse, find, decide, then act. Nothing about a piece is looked at before
//! the decision, so a caller without rights gets the same refusal for a
//! real piece id as for a made-up one.
//!
//! Registration is the one decision without a dossier yet
//! ([`may_register`]).

use uuid::Uuid;

use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize, authorize_with, no_such_dossier},
    crypto::DossierKey,
    db::{
        audit::AuditEvent,
        dossiers::Dossier,
        grants::Grant,
        pieces::{Piece, Version},
    },
    domain::{
        CommuneCode, NumeroUnique, Purpose,
        journal::{Actor, Recorded},
    },
    error::Error,
};

/// A dossier the caller has been allowed `action` on.
#[derive(Debug)]
pub struct Opened<'a> {
    vault: &'a Vault,
    principal: &'a Principal,
    action: Action,
    /// What the request was decided for (recorded with its events).
    purpose: Purpose,
    dossier: Dossier,
    /// The caller's organisation's grant that decided, read at
    /// `decided_at` (kept for [`Opened::and`]).
    grant: Option<Grant>,
    decided_at: i64,
}

/// Finds the dossier `{nu}` names and decides `action` on it for the
/// caller: 422 for a malformed number; 403 when the policy refuses (traced)
/// and, in the same words, for a number that names no dossier.
pub async fn open<'a>(
    vault: &'a Vault,
    principal: &'a Principal,
    nu: &str,
    action: Action,
) -> Result<Opened<'a>, Error> {
    let nu = NumeroUnique::parse(nu)?;
    let now = crate::clock::now_s();
    // An agent's organisation's grant is read with the dossier (one round
    // trip for both: every fetch and download starts here).
    let found = match principal.organisation_id() {
        Some(org) => vault.db().dossier_by_nu_with_grant(&nu, org, now).await?,
        None => vault.db().dossier_by_nu(&nu).await?.map(|d| (d, None)),
    };
    let (dossier, grant) = found.ok_or_else(|| no_such_dossier(vault, principal, action))?;
    if let Some(on) = dossier.purged_on {
        // Nothing is left to decide on: the tombstone says when it went.
        return Err(Error::Gone(format!(
            "this dossier was erased on {}, one year after its radiation",
            crate::clock::iso_date(on)
        )));
    }
    decide(vault, principal, dossier, grant, now, action).await
}

/// The applicant's own dossier, found from their session; `None` when the
/// caller is not an applicant. Decided like any other.
pub async fn open_own<'a>(
    vault: &'a Vault,
    principal: &'a Principal,
    action: Action,
) -> Result<Option<Opened<'a>>, Error> {
    let Principal::Applicant { dossier, .. } = principal else { return Ok(None) };
    let Some(dossier) = vault.db().dossier_by_id(*dossier).await? else { return Ok(None) };
    // An applicant has no organisation, hence no grant.
    decide(vault, principal, dossier, None, crate::clock::now_s(), action).await.map(Some)
}

/// `grant`: the caller's organisation's grant on the dossier that decides,
/// read at `now` (`None`: it has none).
async fn decide<'a>(
    vault: &'a Vault,
    principal: &'a Principal,
    dossier: Dossier,
    grant: Option<Grant>,
    now: i64,
    action: Action,
) -> Result<Opened<'a>, Error> {
    let purpose = authorize_with(vault, principal, action, Resource::Dossier(&dossier), grant.as_ref(), now).await?;
    Ok(Opened { vault, principal, action, purpose, dossier, grant, decided_at: now })
}

/// Whether the caller may administer the shared file (`platform.manage`:
/// the gestionnaire, under the default set). A refusal is traced.
pub async fn may_manage_platform(vault: &Vault, principal: &Principal) -> Result<(), Error> {
    authorize(vault, principal, Action::PlatformManage, Resource::Platform).await.map(|_| ())
}

/// Whether the caller may register a dossier wishing these communes.
pub async fn may_register(vault: &Vault, principal: &Principal, communes: &[CommuneCode]) -> Result<(), Error> {
    authorize(vault, principal, Action::DossierRegister, Resource::NewDossier(communes)).await.map(|_| ())
}

impl<'a> Opened<'a> {
    pub fn dossier(&self) -> &Dossier {
        &self.dossier
    }

    pub fn vault(&self) -> &'a Vault {
        self.vault
    }

    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The same dossier, decided for another action (a page that shows
    /// both the pieces and the trace), without finding it again.
    pub async fn and(&self, action: Action) -> Result<Opened<'a>, Error> {
        decide(self.vault, self.principal, self.dossier.clone(), self.grant.clone(), self.decided_at, action).await
    }

    /// The piece `{piece}` of this dossier: 404 when the id is malformed,
    /// unknown, or another dossier's (asked only after the decision).
    pub async fn piece(&self, piece: &str) -> Result<Piece, Error> {
        let id = piece_id(piece)?;
        self.vault
            .db()
            .piece(self.dossier.id, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no piece {id} in this dossier")))
    }

    /// Version `number` of a piece (the latest when `None`).
    pub async fn version(&self, piece: &Piece, number: Option<i64>) -> Result<Version, Error> {
        let mut versions = self.vault.db().versions_of(piece.id).await?;
        let found = match number {
            None => versions.pop(),
            Some(n) => versions.into_iter().find(|v| v.number == n),
        };
        found.ok_or_else(|| Error::NotFound("no such version of this piece".into()))
    }

    /// Version `number` of the piece `{piece}` (the latest when `None`) and
    /// the dossier key to open it, found together: what a download needs.
    /// 404 as [`Self::piece`] and [`Self::version`] answer.
    pub async fn content(&self, piece: &str, number: Option<i64>) -> Result<(Version, DossierKey), Error> {
        let id = piece_id(piece)?;
        let (version, wrapped) =
            self.vault.db().version_with_key(self.dossier.id, id, number).await?.ok_or_else(|| match number {
                None => Error::NotFound(format!("no piece {id} in this dossier")),
                Some(_) => Error::NotFound("no such version of this piece".into()),
            })?;
        let wrapped = wrapped.ok_or_else(crate::app::erased)?;
        Ok((version, self.vault.unwrap_key(self.dossier.id, &wrapped)?))
    }

    /// The dossier key, to seal or open content.
    pub async fn key(&self) -> Result<DossierKey, Error> {
        self.vault.dossier_key(self.dossier.id).await
    }

    /// Traces an agent's read of metadata (the dossier, a piece): once per
    /// dossier, agent, action and day, which is what the applicant needs to
    /// see who looked at their demand without a line per page view. The
    /// applicant's own reads are not traced.
    pub async fn record_daily(&self) -> Result<(), Error> {
        let Some(agent) = self.principal.agent_id() else { return Ok(()) };
        let event = AuditEvent::new(self.actor(), self.action);
        self.vault.db().record_once_each(&event, agent, &[self.dossier.id], crate::clock::start_of_day_ms()).await?;
        Ok(())
    }

    fn actor(&self) -> Actor {
        Actor { purpose: self.purpose, ..self.principal.actor(self.action) }
    }

    /// Records the access, committed before this returns: call it before
    /// the first byte of content leaves. `what` names it in the journal
    /// (the decided action, or a finer name such as a thumbnail read).
    pub async fn record(&self, what: impl Into<Recorded>, version: Option<(Uuid, Uuid)>) -> Result<(), Error> {
        let mut event = AuditEvent::new(self.actor(), what).on(self.dossier.id);
        if let Some((piece, version)) = version {
            event = event.of_version(piece, version);
        }
        self.vault.db().record(&event).await
    }
}

/// A piece id from the path: a malformed one names no piece of this
/// dossier (404, as an unknown one).
fn piece_id(piece: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(piece).map_err(|_| Error::NotFound(format!("no piece {piece:?} in this dossier")))
}
