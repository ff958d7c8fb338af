//! The *numéro unique* of a demand de logement social.
//!
//! 18 characters: territory code (3) · month and year of deposit `MMAA` (4) ·
//! sequence (6) · code of the first guichet (5), e.g. `1111023517879GDPUB`.
//! The number is non-significant for the applicant but its structure is
//! checked so that a typo is caught at the door rather than creating a ghost
//! dossier.

use std::fmt;

use super::{GuichetCode, ParseError};

/// A validated *numéro unique*.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumeroUnique(String);

/// The expected format, quoted in every refusal.
pub use dnu_api::numero_unique::FORMAT;

impl NumeroUnique {
    /// Parses a number given by a partner or the national system.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        dnu_api::numero_unique::check(s)
            .map_err(|why| ParseError::new(format!("invalid numéro unique ({why}); expected {FORMAT}")))?;
        Ok(Self(s.to_owned()))
    }

    /// Builds a number issued by this vault. `territory` is 3 characters,
    /// `sequence` fits in 6 digits (checked by the caller's allocator).
    pub fn issue(
        territory: &str,
        month: u8,
        year: i32,
        sequence: u32,
        guichet: &GuichetCode,
    ) -> Result<Self, ParseError> {
        if sequence > 999_999 {
            return Err(ParseError::new("the sequence of numéros uniques for this month is exhausted"));
        }
        let s = format!("{territory}{month:02}{yy:02}{sequence:06}{guichet}", yy = year.rem_euclid(100));
        Self::parse(&s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The territory code (characters 1–3).
    pub fn territory(&self) -> &str {
        &self.0[..3]
    }

    /// The month and year of deposit, `MMAA` (characters 4–7).
    pub fn deposit_mmaa(&self) -> &str {
        &self.0[3..7]
    }
}

impl fmt::Display for NumeroUnique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_example() {
        assert_eq!(NumeroUnique::parse("1111023517879GDPUB").unwrap().as_str(), "1111023517879GDPUB");
    }

    #[test]
    fn refuses_wrong_length_bad_month_and_lowercase() {
        for bad in [
            "",
            "1111023517879GDPU",
            "1111023517879GDPUBX",
            "1111323517879GDPUB",
            "1110023517879GDPUB",
            "1111023517879gdpub",
            "111102351787AGDPUB",
        ] {
            let err = NumeroUnique::parse(bad).unwrap_err();
            assert!(err.0.contains("expected 18 characters"), "{bad}: {err}");
        }
    }

    #[test]
    fn issues_numbers_of_the_same_structure() {
        let g = GuichetCode::parse("DKMAI").unwrap();
        let nu = NumeroUnique::issue("059", 3, 2026, 42, &g).unwrap();
        assert_eq!(nu.as_str(), "059032600004 2DKMAI".replace(' ', ""));
        assert!(NumeroUnique::issue("059", 3, 2026, 1_000_000, &g).is_err());
    }
}
