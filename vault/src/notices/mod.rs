//! Notices to applicants (CCH R.441-2-7, R.441-2-8): composed and sealed
//! when a decision causes them ([`issue`]), written in the decision's own
//! transaction, then delivered from the outbox: e-mails by
//! [`outbox::deliver`], letters by the registering guichet from its queue
//! ([`letters`]).

pub mod compose;
mod digest;
pub mod letters;
pub mod outbox;

pub use digest::send_digests;
pub use outbox::{DeliveryReport, deliver};

use time::Date;
use uuid::Uuid;

use crate::{
    app::Vault,
    db::{
        dossiers::Dossier,
        notices::{Because, NewNotice},
    },
    domain::{Channel, Contact, NoticeKind, RadiationReason, journal::Actor},
    error::Error,
};
use compose::{Facts, PieceToUpdate};

/// The system's actor: decisions of the daily pass.
pub const SYSTEM: Actor = Actor { agent: None, organisation: None, purpose: crate::domain::Purpose::Controle };

/// The applicant's page, as a notice names it (when the vault knows its
/// public address).
pub fn applicant_page(vault: &Vault) -> Option<String> {
    vault.config().signin.public_url.as_ref().map(|u| format!("{}/mon-dossier", u.trim_end_matches('/')))
}

/// The pieces of a dossier that lapse by `by`: their kind's label and date.
async fn pieces_to_update(vault: &Vault, dossier: Uuid, by: Date) -> Result<Vec<PieceToUpdate>, Error> {
    let mut out: Vec<PieceToUpdate> = vault
        .db()
        .pieces_of(dossier)
        .await?
        .into_iter()
        .filter_map(|p| {
            let until = p.valid_until.filter(|u| *u <= by)?;
            let label = p.kind.entry().map_or_else(|| p.kind.as_str().to_owned(), |e| e.label.clone());
            Some(PieceToUpdate { label, until })
        })
        .collect();
    out.sort_by(|a, b| (a.until, &a.label).cmp(&(b.until, &b.label)));
    Ok(out)
}

/// Issues the notice of `kind` for `dossier` as of `as_of`, with the
/// decision `because` (a radiation is written with its notices, in one
/// transaction). The channels follow the applicant's contact details; with
/// none, a letter without address waits in the guichet's queue (the
/// guichet knows where the applicant lives). `Ok(None)`: the dossier had
/// changed meanwhile, nothing written; `Ok(Some(n))`: `n` notices added
/// (0 when they already were).
pub async fn issue(
    vault: &Vault,
    dossier: &Dossier,
    kind: NoticeKind,
    as_of: Date,
    because: Because,
) -> Result<Option<usize>, Error> {
    let dk = vault.dossier_key(dossier.id).await?;
    let contact = match vault.db().contact_of(dossier.id).await? {
        Some(record) => crate::sealed::records::open_contact(&dk, &record)?,
        None => Contact::default(),
    };
    let guichet = vault
        .db()
        .organisation(dossier.registered_by)
        .await?
        .ok_or_else(|| Error::Integrity("dossier without its registering organisation".into()))?;
    let pieces = match kind {
        NoticeKind::Renewal => pieces_to_update(vault, dossier.id, dossier.valid_until).await?,
        NoticeKind::Radiation => Vec::new(),
    };
    let radiated = match because {
        Because::Radiated { on, reason } => Some((on, reason, crate::dossiers::purge_on(on))),
        Because::Expiring => None,
    };
    let facts = Facts {
        numero_unique: &dossier.numero_unique,
        kind,
        valid_until: dossier.valid_until,
        radiated,
        pieces: &pieces,
        applicant_page: applicant_page(vault),
        guichet: &guichet.name,
        as_of,
    };
    let mut notices = Vec::new();
    for channel in contact.channels() {
        let to = match channel {
            Channel::Email => contact.email.as_ref().map(|e| e.as_str().to_owned()),
            Channel::Post => None,
        };
        let message = compose::message(&facts, &contact, to);
        let id = Uuid::new_v4();
        let sealed = crate::sealed::records::seal_as(&dk, id, &message)?.sealed;
        notices.push(NewNotice { id, kind, period: dossier.valid_until, channel, sealed });
    }
    vault.db().issue_notices(dossier.id, dossier.registered_by, as_of, because, &notices, SYSTEM).await
}

/// Radiates `dossier` for `reason` as of `as_of`, with its notices.
pub async fn radiate(
    vault: &Vault,
    dossier: &Dossier,
    reason: RadiationReason,
    as_of: Date,
) -> Result<Option<usize>, Error> {
    issue(vault, dossier, NoticeKind::Radiation, as_of, Because::Radiated { on: as_of, reason }).await
}
