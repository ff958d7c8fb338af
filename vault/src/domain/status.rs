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

/// Why a demand leaves the file: the six reasons of CCH R.441-2-8, a
/// closed list, so the journal and the applicant's view never carry free
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RadiationReason {
    /// (a) Housing attributed and the lease signed.
    Attribution,
    /// (b) Written renunciation by the applicant.
    Renonciation,
    /// (c) No answer to a letter sent to the last known address: one
    /// month after the warning.
    SansReponse,
    /// (d) Irrecevabilité decided by a commission d'attribution: one month
    /// after the warning.
    Irrecevabilite,
    /// (e) Not renewed by the deadline of the renewal notice.
    NonRenouvellement,
    /// (f) Several numbers merged into one.
    Fusion,
}

impl RadiationReason {
    pub const ALL: [Self; 6] = [
        Self::Attribution,
        Self::Renonciation,
        Self::SansReponse,
        Self::Irrecevabilite,
        Self::NonRenouvellement,
        Self::Fusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attribution => "attribution",
            Self::Renonciation => "renonciation",
            Self::SansReponse => "sans_reponse",
            Self::Irrecevabilite => "irrecevabilite",
            Self::NonRenouvellement => "non_renouvellement",
            Self::Fusion => "fusion",
        }
    }

    /// Its letter in R.441-2-8.
    pub fn letter(self) -> char {
        match self {
            Self::Attribution => 'a',
            Self::Renonciation => 'b',
            Self::SansReponse => 'c',
            Self::Irrecevabilite => 'd',
            Self::NonRenouvellement => 'e',
            Self::Fusion => 'f',
        }
    }

    /// Whether the applicant must be warned a month before (c, d).
    pub fn needs_warning(self) -> bool {
        matches!(self, Self::SansReponse | Self::Irrecevabilite)
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<String> = Self::ALL.iter().map(|r| format!("{} ({})", r.as_str(), r.letter())).collect();
            ParseError::new(format!(
                "{:?} is not a reason of CCH R.441-2-8; expected one of {}",
                s.trim(),
                names.join(", ")
            ))
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
        assert!(RadiationReason::parse("demenagement").unwrap_err().0.contains("non_renouvellement (e)"));
        // The law has no sixth "other" reason.
        let autre = RadiationReason::parse("autre").unwrap_err().0;
        assert!(RadiationReason::ALL.iter().all(|r| autre.contains(r.as_str())), "{autre}");
    }
}
