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
        }
    }

    /// Reads a stored name back (`None` for a name this binary never writes).
    pub fn parse(s: &str) -> Option<Self> {
        Action::ALL
            .into_iter()
            .map(Self::Asked)
            .chain([Self::PieceReadThumbnail, Self::GrantCreate, Self::GrantRevoke, Self::WorklistShown])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back() {
        for a in Action::ALL {
            assert_eq!(Recorded::parse(a.as_str()), Some(Recorded::Asked(a)));
        }
        for r in [Recorded::PieceReadThumbnail, Recorded::GrantCreate, Recorded::GrantRevoke, Recorded::WorklistShown] {
            assert_eq!(Recorded::parse(r.as_str()), Some(r));
        }
        assert_eq!(Recorded::parse("dossier.delete"), None);
    }
}
