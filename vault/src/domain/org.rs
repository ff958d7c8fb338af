//! Kinds of organisation taking part in a shared file (DESIGN §4).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    Guichet,
    Bailleur,
    Reservataire,
    Etat,
    Gestionnaire,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [Self::Guichet, Self::Bailleur, Self::Reservataire, Self::Etat, Self::Gestionnaire];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guichet => "guichet",
            Self::Bailleur => "bailleur",
            Self::Reservataire => "reservataire",
            Self::Etat => "etat",
            Self::Gestionnaire => "gestionnaire",
        }
    }

    /// Whether an organisation of this kind may be a registering service.
    /// The shared file's manager administers the platform and reads no
    /// content: registering would give it every dossier of its territory.
    pub fn may_register(self) -> bool {
        self != Self::Gestionnaire
    }
}

impl FromStr for OrgKind {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            ParseError::new(format!(
                "unknown organisation kind {s:?}: expected guichet, bailleur, reservataire, etat or gestionnaire"
            ))
        })
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
