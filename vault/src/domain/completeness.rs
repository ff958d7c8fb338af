//! Whether a dossier is complete on a day: every piece its applicant's
//! situation calls for is present and still counts. The identity piece is
//! always called for (CCH R.441-2-3, the catalogue's one required kind);
//! the others as declared (the applicant or their guichet says which of
//! the catalogue's kinds concern them: tax notices, resources, disability…).
//!
//! A piece counts when its current version is not flagged by an agent and
//! has not expired; one with no date counts (nothing dates it). Pure: the
//! same answer on every face (API, pages, worklist filter, export cover).

use serde::Serialize;
use time::Date;

use super::{PieceKind, PieceValidity};

/// One piece called for, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Expected {
    pub kind: PieceKind,
    pub state: PieceState,
    /// The current version's end of validity, when dated (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PieceState {
    /// Present and counting (dated beyond the notice lead, or undated).
    Valid,
    /// Present, counting, but lapses within the notice lead: to renew soon.
    Expiring,
    Expired,
    /// Present, but its current version was flagged (unreadable, not the
    /// piece asked for, superseded): to send again.
    Flagged,
    Missing,
}

impl PieceState {
    /// Whether the piece counts today.
    pub fn counts(self) -> bool {
        matches!(self, Self::Valid | Self::Expiring)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Complete,
    Incomplete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Incomplete => "incomplete",
        }
    }

    /// `complete` or `incomplete`, as the API's filter takes it.
    pub fn parse(s: &str) -> Result<Self, super::ParseError> {
        match s {
            "complete" => Ok(Self::Complete),
            "incomplete" => Ok(Self::Incomplete),
            other => Err(super::ParseError::new(format!("{other:?}: expected complete or incomplete"))),
        }
    }

    /// In French, as the pages and the export's cover say it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Complete => "complet",
            Self::Incomplete => "incomplet",
        }
    }
}

/// The dossier's completeness: its status and each piece called for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Completeness {
    pub status: Status,
    pub expected: Vec<Expected>,
}

/// A piece the dossier holds, as completeness sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub kind: PieceKind,
    pub valid_until: Option<Date>,
    /// Its current version was flagged by an agent.
    pub flagged: bool,
}

/// Assesses a dossier holding `held` on `today`, where `expected` are the
/// kinds called for (the required kind first; duplicates ignored). When a
/// kind is held several times (one per household member), the best-standing
/// piece answers for it.
pub fn assess(expected: &[PieceKind], held: &[Held], today: Date) -> Completeness {
    let mut seen: Vec<&PieceKind> = Vec::new();
    let mut out = Vec::new();
    for kind in expected {
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let best = held
            .iter()
            .filter(|h| &h.kind == kind)
            .map(|h| (state_of(h, today), h.valid_until))
            .min_by_key(|(state, until)| (rank(*state), std::cmp::Reverse(*until)));
        let (state, until) = best.unwrap_or((PieceState::Missing, None));
        out.push(Expected { kind: *kind, state, valid_until: until.map(crate::clock::iso_date) });
    }
    let status = if out.iter().all(|e| e.state.counts()) { Status::Complete } else { Status::Incomplete };
    Completeness { status, expected: out }
}

fn state_of(h: &Held, today: Date) -> PieceState {
    if h.flagged {
        return PieceState::Flagged;
    }
    match PieceValidity::of(h.valid_until, today) {
        PieceValidity::Valid | PieceValidity::Unknown => PieceState::Valid,
        PieceValidity::Expiring => PieceState::Expiring,
        PieceValidity::Expired => PieceState::Expired,
    }
}

/// Which of several pieces of a kind answers for it: the one that counts longest.
fn rank(s: PieceState) -> u8 {
    match s {
        PieceState::Valid => 0,
        PieceState::Expiring => 1,
        PieceState::Expired => 2,
        PieceState::Flagged => 3,
        PieceState::Missing => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> PieceKind {
        PieceKind::parse(s).unwrap()
    }

    fn day(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn complete_only_when_every_called_for_piece_counts() {
        let today = day(2026, 12, 3);
        let expected = [kind("identite"), kind("avis_imposition_n2"), kind("ressources")];
        let id = Held { kind: kind("identite"), valid_until: Some(day(2030, 1, 1)), flagged: false };
        let only_id = assess(&expected, std::slice::from_ref(&id), today);
        assert_eq!(only_id.status, Status::Incomplete);
        let states: Vec<PieceState> = only_id.expected.iter().map(|e| e.state).collect();
        assert_eq!(states, [PieceState::Valid, PieceState::Missing, PieceState::Missing]);

        let tax = Held { kind: kind("avis_imposition_n2"), valid_until: Some(day(2026, 12, 31)), flagged: false };
        let pay = Held { kind: kind("ressources"), valid_until: None, flagged: false };
        let all = assess(&expected, &[id.clone(), tax.clone(), pay.clone()], today);
        assert_eq!(all.status, Status::Complete, "expiring and undated pieces still count");
        assert_eq!(all.expected[1].state, PieceState::Expiring);

        // An expired identity piece, or a flagged one, makes it incomplete again.
        let old = Held { valid_until: Some(day(2026, 12, 2)), ..id.clone() };
        assert_eq!(assess(&expected, &[old, tax.clone(), pay.clone()], today).status, Status::Incomplete);
        let flagged = Held { flagged: true, ..id.clone() };
        let r = assess(&expected, &[flagged, tax, pay], today);
        assert_eq!((r.status, r.expected[0].state), (Status::Incomplete, PieceState::Flagged));
    }

    #[test]
    fn the_best_of_several_pieces_of_a_kind_answers() {
        let today = day(2026, 12, 3);
        let expired = Held { kind: kind("identite"), valid_until: Some(day(2025, 1, 1)), flagged: false };
        let valid = Held { valid_until: Some(day(2029, 1, 1)), ..expired.clone() };
        let r = assess(&[kind("identite"), kind("identite")], &[expired, valid], today);
        assert_eq!(r.expected.len(), 1, "a kind called for twice is listed once");
        assert_eq!((r.status, r.expected[0].valid_until.as_deref()), (Status::Complete, Some("2029-01-01")));
    }
}
