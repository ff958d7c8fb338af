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

use std::collections::HashMap;

use time::Date;
use uuid::Uuid;

use crate::{
    app::Vault,
    db::{
        dossiers::Dossier,
        notices::{Because, Issue, NewNotice},
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

/// The pieces to update in each dossier: those that lapse by its validity
/// (their kind's label and date) and those whose current version an agent
/// marked; marked first, then soonest first.
fn pieces_to_update(
    pieces: Vec<crate::db::pieces::Piece>,
    marked: Vec<(Uuid, Uuid, crate::domain::PieceKind, crate::domain::VersionMark)>,
    dossiers: &[Dossier],
) -> HashMap<Uuid, Vec<PieceToUpdate>> {
    let label = |k: crate::domain::PieceKind| k.entry().map_or_else(|| k.as_str().to_owned(), |e| e.label.clone());
    let until: HashMap<Uuid, Date> = dossiers.iter().map(|d| (d.id, d.valid_until)).collect();
    let mut out: HashMap<Uuid, Vec<PieceToUpdate>> = HashMap::new();
    let mut listed = std::collections::HashSet::new();
    for (dossier, piece, kind, mark) in marked {
        listed.insert(piece);
        out.entry(dossier).or_default().push(PieceToUpdate {
            label: label(kind),
            until: None,
            mark: Some(mark.label()),
        });
    }
    for p in pieces {
        let Some(by) = until.get(&p.dossier_id) else { continue };
        let Some(date) = p.valid_until.filter(|u| u <= by) else { continue };
        if listed.contains(&p.id) {
            continue;
        }
        out.entry(p.dossier_id).or_default().push(PieceToUpdate {
            label: label(p.kind),
            until: Some(date),
            mark: None,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| (a.mark.is_none(), a.until, &a.label).cmp(&(b.mark.is_none(), b.until, &b.label)));
    }
    out
}

/// Issues the notice of `kind` for each of `dossiers` as of `as_of`, with
/// the decision `because` gives for each (a radiation is written with its
/// notices), a batch in one transaction. The channels follow each
/// applicant's contact details; with none, a letter without address waits
/// in the guichet's queue (the guichet knows where the applicant lives).
/// Returns, in order, `None` for a dossier that had changed meanwhile
/// (nothing written), or how many notices were added (0 when they already
/// were).
pub async fn issue(
    vault: &Vault,
    dossiers: &[Dossier],
    kind: NoticeKind,
    as_of: Date,
    because: impl Fn(&Dossier) -> Because,
) -> Result<Vec<Option<usize>>, Error> {
    let ids: Vec<Uuid> = dossiers.iter().map(|d| d.id).collect();
    let keys = vault.db().wrapped_keys(&ids).await?;
    let contacts = vault.db().contacts_of(&ids).await?;
    let mut pieces = match kind {
        NoticeKind::Renewal => pieces_to_update(
            vault.db().pieces_of_many(&ids).await?,
            vault.db().marked_current_pieces(&ids).await?,
            dossiers,
        ),
        NoticeKind::Radiation | NoticeKind::Warning => HashMap::new(),
    };
    let mut guichets: HashMap<Uuid, String> = HashMap::new();
    let applicant_page = applicant_page(vault);
    let mut batch = Vec::with_capacity(dossiers.len());
    for dossier in dossiers {
        let wrapped = keys
            .get(&dossier.id)
            .ok_or_else(|| Error::Conflict("this dossier has been erased; no notice can be composed for it".into()))?;
        let dk = vault.unwrap_key(dossier.id, wrapped)?;
        let contact = match contacts.get(&dossier.id) {
            Some(record) => crate::sealed::records::open_contact(&dk, record)?,
            None => Contact::default(),
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = guichets.entry(dossier.registered_by) {
            let org = vault
                .db()
                .organisation(dossier.registered_by)
                .await?
                .ok_or_else(|| Error::Integrity("dossier without its registering organisation".into()))?;
            slot.insert(org.name);
        }
        let decision = because(dossier);
        let radiated = match decision {
            // The purge date as `dossiers::purge_on` says it (a year later), from
            // the clock: the lifecycle feature issues warning letters through here.
            Because::Radiated { on, reason } => Some((on, reason, crate::clock::one_year_after(on))),
            Because::Warned { on, reason } => Some((on, reason, crate::clock::one_month_after(on))),
            Because::Expiring => None,
        };
        let piece_list = pieces.remove(&dossier.id).unwrap_or_default();
        let facts = Facts {
            numero_unique: &dossier.numero_unique,
            kind,
            valid_until: dossier.valid_until,
            radiated,
            pieces: &piece_list,
            applicant_page: applicant_page.clone(),
            guichet: guichets.get(&dossier.registered_by).map_or("", String::as_str),
            as_of,
        };
        let mut notices = Vec::new();
        // A warning goes by post, which proves delivery (and by e-mail too
        // when known, so the applicant can answer at once).
        let channels = match decision {
            Because::Warned { .. } if contact.email.is_some() => vec![Channel::Email, Channel::Post],
            Because::Warned { .. } => vec![Channel::Post],
            _ => contact.channels(),
        };
        for channel in channels {
            let to = match channel {
                Channel::Email => contact.email.as_ref().map(|e| e.as_str().to_owned()),
                Channel::Post => None,
            };
            let message = compose::message(&facts, &contact, to);
            let id = Uuid::new_v4();
            let sealed = crate::sealed::records::seal_as(&dk, id, &message)?.sealed;
            // A warning's notices are about the warning's day; the others
            // about the validity they concern.
            let period = match decision {
                Because::Warned { on, .. } => on,
                _ => dossier.valid_until,
            };
            notices.push(NewNotice { id, kind, period, channel, sealed });
        }
        batch.push(Issue { dossier: dossier.id, organisation: dossier.registered_by, because: decision, notices });
    }
    vault.db().issue_notices(&batch, as_of, SYSTEM).await
}

/// The letter (and e-mail) of a (c)/(d) warning given `on`; issued again,
/// nothing is doubled.
pub async fn warn(vault: &Vault, dossier: &Dossier, reason: RadiationReason, on: Date) -> Result<Option<usize>, Error> {
    let done = issue(vault, std::slice::from_ref(dossier), NoticeKind::Warning, on, |_| Because::Warned { on, reason })
        .await?;
    Ok(done.into_iter().next().flatten())
}

/// Radiates each of `dossiers` for its reason as of `as_of`, with its notices.
pub async fn radiate(
    vault: &Vault,
    dossiers: &[(Dossier, RadiationReason)],
    as_of: Date,
) -> Result<Vec<Option<usize>>, Error> {
    let reasons: HashMap<Uuid, RadiationReason> = dossiers.iter().map(|(d, r)| (d.id, *r)).collect();
    let list: Vec<Dossier> = dossiers.iter().map(|(d, _)| d.clone()).collect();
    issue(vault, &list, NoticeKind::Radiation, as_of, |d| Because::Radiated {
        on: as_of,
        reason: reasons.get(&d.id).copied().unwrap_or(RadiationReason::NonRenouvellement),
    })
    .await
}
