//! Where a demand stands: active (valid, renewable) or radiated (kept,
//! read-only, until its purge date). An erased dossier is a radiated one
//! whose key is gone; that is a fact of the key, not a status.

use std::fmt;

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierStatus {
    Active,
    Radiated,
}

impl DossierStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Radiated => "radiated",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "active" => Ok(Self::Active),
            "radiated" => Ok(Self::Radiated),
            other => Err(ParseError::new(format!("{other:?} is not active or radiated"))),
        }
    }
}

impl fmt::Display for DossierStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a demand leaves the file: a closed list, so the journal and the
/// applicant's view never carry free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadiationReason {
    Attribution,
    Renonciation,
    NonRenouvellement,
    Irrecevabilite,
    Autre,
}

impl RadiationReason {
    pub const ALL: [Self; 5] =
        [Self::Attribution, Self::Renonciation, Self::NonRenouvellement, Self::Irrecevabilite, Self::Autre];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attribution => "attribution",
            Self::Renonciation => "renonciation",
            Self::NonRenouvellement => "non_renouvellement",
            Self::Irrecevabilite => "irrecevabilite",
            Self::Autre => "autre",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
            ParseError::new(format!("expected one of {}", names.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [DossierStatus::Active, DossierStatus::Radiated] {
            assert_eq!(DossierStatus::parse(s.as_str()), Ok(s));
        }
        assert!(DossierStatus::parse("erased").is_err());
        for r in RadiationReason::ALL {
            assert_eq!(RadiationReason::parse(r.as_str()), Ok(r));
        }
        assert!(RadiationReason::parse("demenagement").unwrap_err().0.contains("non_renouvellement"));
    }
}
