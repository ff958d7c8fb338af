//! Whether a piece still counts on a day, from its `valid_until` (given at
//! upload, or the catalogue's default): valid, expiring within the notice
//! lead, expired, or unknown when nothing dates it. Computed where shown,
//! so every face (API, pages, export cover, notices) says the same.

use serde::Serialize;
use time::Date;

/// How far ahead "expiring" looks: the renewal notice's lead.
pub const EXPIRING_WITHIN_DAYS: i64 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PieceValidity {
    Valid,
    /// Lapses within [`EXPIRING_WITHIN_DAYS`].
    Expiring,
    Expired,
    /// No date: a piece with no end, or one whose date nobody gave.
    Unknown,
}

impl PieceValidity {
    pub fn of(valid_until: Option<Date>, today: Date) -> Self {
        match valid_until {
            None => Self::Unknown,
            Some(d) if d < today => Self::Expired,
            Some(d) if d <= today + time::Duration::days(EXPIRING_WITHIN_DAYS) => Self::Expiring,
            Some(_) => Self::Valid,
        }
    }

    /// In French, with the date.
    pub fn words(valid_until: Option<Date>, today: Date) -> String {
        let on = valid_until.map(crate::clock::fr_date).unwrap_or_default();
        match Self::of(valid_until, today) {
            Self::Unknown => "sans date".into(),
            Self::Expired => format!("expirée depuis le {on}"),
            Self::Expiring => format!("expire bientôt, le {on}"),
            Self::Valid => format!("valable jusqu'au {on}"),
        }
    }
}

/// What an agent found wrong with a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionMark {
    /// Unreadable: blurred, cut, too dark.
    Inexploitable,
    /// Not the piece asked for.
    HorsPerimetre,
    /// Superseded by events (an older notice, a changed situation).
    Obsolete,
}

impl VersionMark {
    pub const ALL: [Self; 3] = [Self::Inexploitable, Self::HorsPerimetre, Self::Obsolete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inexploitable => "inexploitable",
            Self::HorsPerimetre => "hors_perimetre",
            Self::Obsolete => "obsolete",
        }
    }

    pub fn parse(s: &str) -> Result<Self, super::ParseError> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            super::ParseError::new(format!("{s:?} is not a mark; expected inexploitable, hors_perimetre or obsolete"))
        })
    }

    /// As the applicant reads it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Inexploitable => "inexploitable (illisible)",
            Self::HorsPerimetre => "hors périmètre (ce n'est pas la pièce demandée)",
            Self::Obsolete => "obsolète",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_piece_is_valid_expiring_or_expired_on_a_day() {
        let today = date!(2027 - 01 - 10);
        assert_eq!(PieceValidity::of(None, today), PieceValidity::Unknown);
        assert_eq!(PieceValidity::of(Some(date!(2027 - 01 - 09)), today), PieceValidity::Expired);
        assert_eq!(PieceValidity::of(Some(today), today), PieceValidity::Expiring);
        assert_eq!(PieceValidity::of(Some(date!(2027 - 02 - 10)), today), PieceValidity::Expiring);
        assert_eq!(PieceValidity::of(Some(date!(2027 - 02 - 11)), today), PieceValidity::Valid);
        assert_eq!(PieceValidity::words(Some(date!(2027 - 01 - 09)), today), "expirée depuis le 09/01/2027");
    }
}
