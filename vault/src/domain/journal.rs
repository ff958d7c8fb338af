//! The audit journal's vocabulary: what was done ([`Recorded`]), how it
//! ended ([`Outcome`]) and who did it, for what ([`Actor`]). The journal
//! stores the names (`piece.read_rendition`, `ok`); everything inward
//! speaks these types, so no action is a string compared by hand and the
//! purpose of an event is chosen once, where the actor is built.

use std::fmt;

use uuid::Uuid;

use super::Purpose;
use policies::Action;

/// What an event records. The policy actions keep their names; a few
/// events are finer than the decision behind them (a thumbnail is read
/// under `piece.read_rendition`, a grant created under `grant.manage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recorded {
    /// A policy action, as decided (every denial names one).
    Asked(Action),
    PieceReadThumbnail,
    GrantCreate,
    GrantRevoke,
    /// The dossier appeared in an agent's worklist (its number, status,
    /// communes and dates were shown): once per agent and day.
    WorklistShown,
    /// The applicant was warned of a radiation for (c) or (d), a month
    /// ahead (recorded under `dossier.radiate`'s decision).
    RadiationWarned,
    /// The dossier was purged a year after its radiation (by the system).
    Purged,
    /// The applicant's contact details were changed.
    ContactChanged,
    /// The pieces the applicant's situation calls for were declared again.
    ExpectedChanged,
    /// A notice was issued to the applicant (renewal, radiation): by the
    /// daily pass, into the outbox.
    NoticeIssued,
    /// A letter of the registering guichet's queue was marked as posted.
    LetterPosted,
    /// An agent marked a version inexploitable, hors périmètre or obsolète.
    VersionMarked,
    /// Another number was merged into this dossier (R.441-2-8 (f); the
    /// absorbed one's radiation is recorded under `dossier.radiate`).
    Merged,
    /// A stored object of a version failed re-verification (the scrubber:
    /// missing, wrong length, or not authenticating).
    IntegrityFailure,
    /// A person signed in through an identity provider (ProConnect,
    /// FranceConnect), or was refused and why.
    SignIn(SignIn),
}

/// How a sign-in through a provider ended. A refusal names its reason so
/// the manager can answer "why can't I sign in?" from the journal alone
/// (which never holds the e-mail address or the provider's subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignIn {
    Agent,
    /// An applicant linked their FranceConnect identity to their dossier.
    ApplicantLinked,
    /// The applicant removed that link.
    ApplicantUnlinked,
    Applicant,
    NotInvited,
    /// The e-mail's agent is bound to another ProConnect account.
    OtherAccount,
    /// The SIRET's SIREN is not the organisation's.
    Siren,
    Disabled,
    /// The authentication level is below what the vault accepts.
    Level,
    /// A token, state or code failed a check (forged, replayed, expired).
    Forged,
    Cancelled,
    Unreachable,
}

impl SignIn {
    const ALL: [Self; 12] = [
        Self::Agent,
        Self::ApplicantLinked,
        Self::ApplicantUnlinked,
        Self::Applicant,
        Self::NotInvited,
        Self::OtherAccount,
        Self::Siren,
        Self::Disabled,
        Self::Level,
        Self::Forged,
        Self::Cancelled,
        Self::Unreachable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "signin.agent",
            Self::ApplicantLinked => "signin.applicant_linked",
            Self::ApplicantUnlinked => "signin.applicant_unlinked",
            Self::Applicant => "signin.applicant",
            Self::NotInvited => "signin.refused.not_invited",
            Self::OtherAccount => "signin.refused.other_account",
            Self::Siren => "signin.refused.siren",
            Self::Disabled => "signin.refused.disabled",
            Self::Level => "signin.refused.level",
            Self::Forged => "signin.refused.forged",
            Self::Cancelled => "signin.refused.cancelled",
            Self::Unreachable => "signin.refused.unreachable",
        }
    }

    /// Whether the person got a session.
    pub const fn outcome(self) -> Outcome {
        match self {
            Self::Agent | Self::ApplicantLinked | Self::ApplicantUnlinked | Self::Applicant => Outcome::Ok,
            _ => Outcome::Denied,
        }
    }
}

impl Recorded {
    pub const DOSSIER_REGISTER: Self = Self::Asked(Action::DossierRegister);
    pub const PIECE_UPLOAD: Self = Self::Asked(Action::PieceUpload);

    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asked(a) => a.as_str(),
            Self::PieceReadThumbnail => "piece.read_thumbnail",
            Self::GrantCreate => "grant.create",
            Self::GrantRevoke => "grant.revoke",
            Self::WorklistShown => "worklist.shown",
            Self::RadiationWarned => "dossier.radiation_warning",
            Self::Purged => "dossier.purge",
            Self::ContactChanged => "dossier.contact",
            Self::ExpectedChanged => "dossier.expected",
            Self::NoticeIssued => "dossier.notice",
            Self::LetterPosted => "dossier.letter_posted",
            Self::VersionMarked => "piece.mark",
            Self::Merged => "dossier.merge",
            Self::IntegrityFailure => "piece.integrity_failure",
            Self::SignIn(s) => s.as_str(),
        }
    }

    /// Reads a stored name back (`None` for a name this binary never writes).
    pub fn parse(s: &str) -> Option<Self> {
        Action::ALL
            .into_iter()
            .map(Self::Asked)
            .chain([
                Self::PieceReadThumbnail,
                Self::GrantCreate,
                Self::GrantRevoke,
                Self::WorklistShown,
                Self::RadiationWarned,
                Self::Purged,
                Self::ContactChanged,
                Self::ExpectedChanged,
                Self::NoticeIssued,
                Self::LetterPosted,
                Self::VersionMarked,
                Self::Merged,
                Self::IntegrityFailure,
            ])
            .chain(SignIn::ALL.map(Self::SignIn))
            .find(|r| r.as_str() == s)
    }
}

impl From<Action> for Recorded {
    fn from(a: Action) -> Self {
        Self::Asked(a)
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Ok,
    /// The access policy refused.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
        }
    }
}

/// Who acted and why: an agent of an organisation, or the applicant
/// (neither id), with the purpose the event is recorded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub agent: Option<Uuid>,
    pub organisation: Option<Uuid>,
    pub purpose: Purpose,
}

/// The id of the HTTP request being served (the one it answers with as
/// `X-Request-Id`), carried by the task that serves it. Every audit event
/// recorded while serving a request stores it, so an operator, or a test
/// that kills the server mid-read, can match an answer to its event.
/// Events recorded outside a request (jobs, the CLI) have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(std::sync::Arc<str>);

tokio::task_local! {
    static SERVING: RequestId;
}

impl RequestId {
    pub fn new(id: &str) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The request the current task serves, if any.
    pub fn current() -> Option<Self> {
        SERVING.try_with(Clone::clone).ok()
    }

    /// Runs `work` as the serving of this request. Tasks `work` spawns do
    /// not inherit it: what they record carries no request id.
    pub async fn serve<F: std::future::Future>(self, work: F) -> F::Output {
        SERVING.scope(self, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back() {
        for a in Action::ALL {
            assert_eq!(Recorded::parse(a.as_str()), Some(Recorded::Asked(a)));
        }
        let others = [
            Recorded::PieceReadThumbnail,
            Recorded::GrantCreate,
            Recorded::GrantRevoke,
            Recorded::WorklistShown,
            Recorded::RadiationWarned,
            Recorded::Purged,
            Recorded::ContactChanged,
            Recorded::ExpectedChanged,
            Recorded::NoticeIssued,
            Recorded::LetterPosted,
            Recorded::VersionMarked,
            Recorded::Merged,
            Recorded::IntegrityFailure,
        ];
        for r in others.into_iter().chain(SignIn::ALL.map(Recorded::SignIn)) {
            assert_eq!(Recorded::parse(r.as_str()), Some(r));
        }
        assert_eq!(Recorded::parse("dossier.delete"), None);
    }
}
