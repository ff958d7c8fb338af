//! Why an agent opens a dossier: the finality that the access trace shows
//! the applicant and that policies may require (CCH R.441-2-6: access is
//! "exclusivement pour l'attribution").
//!
//! A closed list rather than free text, so the journal can never carry
//! personal data through this field.

use std::fmt;

use super::ParseError;

/// The finality of a request, from the `X-Vault-Purpose` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Registering, renewing or completing the demand at a guichet.
    Enregistrement,
    /// Examining the demand before a commission (the default for partners).
    Instruction,
    /// The commission d'attribution itself (CAL / CALEOL).
    Attribution,
    /// Right-to-housing procedures handled by State services.
    Dalo,
    /// Social support of the applicant by a partner.
    Accompagnement,
    /// Control or audit by the shared file's manager or the State.
    Controle,
    /// The applicant using their own dossier.
    Demandeur,
}

const PURPOSES: [(Purpose, &str); 7] = [
    (Purpose::Enregistrement, "enregistrement"),
    (Purpose::Instruction, "instruction"),
    (Purpose::Attribution, "attribution"),
    (Purpose::Dalo, "dalo"),
    (Purpose::Accompagnement, "accompagnement"),
    (Purpose::Controle, "controle"),
    (Purpose::Demandeur, "demandeur"),
];

impl Purpose {
    /// The header agents send to say why they ask.
    pub const HEADER: &'static str = "x-vault-purpose";

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        PURPOSES.iter().find(|(_, n)| *n == s.trim()).map(|(p, _)| *p).ok_or_else(|| {
            let names: Vec<&str> = PURPOSES.iter().filter(|(p, _)| *p != Self::Demandeur).map(|(_, n)| *n).collect();
            ParseError::new(format!("unknown purpose {:?}: expected one of {}", s.trim(), names.join(", ")))
        })
    }

    pub fn as_str(self) -> &'static str {
        PURPOSES.iter().find(|(p, _)| *p == self).map_or("instruction", |(_, n)| n)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_closed_list_only() {
        for (p, n) in PURPOSES {
            assert_eq!(Purpose::parse(n).unwrap(), p);
            assert_eq!(p.as_str(), n);
        }
        let err = Purpose::parse("M. Dupont").unwrap_err().0;
        assert!(err.contains("attribution") && !err.contains("demandeur,"), "{err}");
    }
}
