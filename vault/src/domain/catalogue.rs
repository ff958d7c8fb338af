//! The catalogue of pieces as data: `api/catalogue.toml`, shipped in the
//! binary, following the arrêté du 22 décembre 2020 (a limitative list).
//! It decides which `kind` an upload may carry, refuses the kinds the rules
//! forbid with the reason, gives each kind its default validity, and is
//! served as `GET /api/v1/catalogue`.
//!
//! Data, not a feature: it sits with the domain types because a
//! [`super::PieceKind`] is a code of this list.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

const SHIPPED: &str = dnu_api::CATALOGUE_TOML;

static CATALOGUE: LazyLock<Result<Catalogue, String>> =
    LazyLock::new(|| toml::from_str::<Catalogue>(SHIPPED).map_err(|e| e.to_string()).and_then(Catalogue::checked));

/// The whole catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub version: String,
    #[serde(rename = "kind")]
    pub kinds: Vec<KindEntry>,
    pub forbidden: Vec<Forbidden>,
}

/// One kind of piece the applicant may be asked for.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindEntry {
    pub code: String,
    pub label: String,
    pub category: String,
    pub required_at_registration: bool,
    pub validity: Validity,
    pub examples: Vec<String>,
}

/// How long a piece counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Validity {
    /// Until the date printed on it (given as `valid_until` at upload).
    ExpiryDate,
    /// A tax notice, N-1 or N-2.
    TaxYear { years_back: u8 },
    /// This many months from the upload.
    Months { months: u8 },
    /// No end.
    None,
}

/// A piece the rules forbid asking for.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Forbidden {
    pub code: String,
    pub label: String,
    pub reason: String,
}

impl Catalogue {
    fn checked(self) -> Result<Self, String> {
        let mut codes: Vec<&str> =
            self.kinds.iter().map(|k| k.code.as_str()).chain(self.forbidden.iter().map(|f| f.code.as_str())).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != n {
            return Err("a code appears twice in the catalogue".into());
        }
        if let Some(bad) = codes
            .iter()
            .find(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        {
            return Err(format!("catalogue code {bad:?}: use lower-case letters, digits and _"));
        }
        if self.kinds.iter().filter(|k| k.required_at_registration).count() != 1 {
            return Err("exactly one kind (the identity piece) is required at registration".into());
        }
        Ok(self)
    }

    pub fn kind(&self, code: &str) -> Option<&KindEntry> {
        self.kinds.iter().find(|k| k.code == code)
    }

    pub fn forbidden(&self, code: &str) -> Option<&Forbidden> {
        self.forbidden.iter().find(|f| f.code == code)
    }
}

/// The shipped catalogue, or why it cannot be read (checked when the vault
/// opens, so a broken file never serves).
pub fn shipped() -> Result<&'static Catalogue, &'static str> {
    CATALOGUE.as_ref().map_err(String::as_str)
}

impl KindEntry {
    /// Until when a piece uploaded on `uploaded` counts, when nobody said:
    /// a tax notice until the end of the upload year (it is then the N-1 or
    /// N-2 notice; an agent may give the exact date); a recent document
    /// `months` months; a piece with a printed expiry date stays unknown
    /// until given.
    pub fn default_valid_until(&self, uploaded: Date) -> Option<Date> {
        match self.validity {
            Validity::ExpiryDate | Validity::None => None,
            Validity::TaxYear { .. } => Date::from_calendar_date(uploaded.year(), Month::December, 31).ok(),
            Validity::Months { months } => {
                let total = uploaded.year() * 12 + i32::from(u8::from(uploaded.month())) - 1 + i32::from(months);
                let (year, month) =
                    (total.div_euclid(12), Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?);
                let last = time::util::days_in_month(month, year);
                Date::from_calendar_date(year, month, uploaded.day().min(last)).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_reads_and_follows_the_arrete() {
        let c = shipped().unwrap();
        for code in ["identite", "avis_imposition_n1", "avis_imposition_n2", "ressources", "handicap", "autre"] {
            assert!(c.kind(code).is_some(), "{code}");
        }
        assert!(c.kind("identite").unwrap().required_at_registration);
        for code in ["releve_bancaire", "carte_vitale", "casier_judiciaire"] {
            assert!(c.forbidden(code).unwrap().reason.contains("arrêté"), "{code}");
        }
    }

    #[test]
    fn default_validity_by_rule() {
        let c = shipped().unwrap();
        let d = |y, m, day| Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap();
        assert_eq!(c.kind("ressources").unwrap().default_valid_until(d(2026, 11, 30)), Some(d(2027, 2, 28)));
        assert_eq!(c.kind("ressources").unwrap().default_valid_until(d(2026, 1, 15)), Some(d(2026, 4, 15)));
        assert_eq!(c.kind("avis_imposition_n1").unwrap().default_valid_until(d(2026, 9, 2)), Some(d(2026, 12, 31)));
        assert_eq!(c.kind("identite").unwrap().default_valid_until(d(2026, 9, 2)), None);
    }

    #[test]
    fn a_duplicate_code_is_refused() {
        let mut c = shipped().unwrap().clone();
        c.forbidden[0].code = "identite".into();
        assert!(c.checked().unwrap_err().contains("twice"));
    }
}
