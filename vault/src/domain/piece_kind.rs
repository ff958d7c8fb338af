//! Kinds of *pièce justificative* (arrêté du 22 décembre 2020, CERFA 14069*04).
//!
//! The full catalogue with validity rules becomes data later; this is the
//! closed list the first API slice accepts, and the kinds the rules forbid
//! asking for are refused with the reason.

use std::fmt;

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PieceKind {
    Identite,
    AvisImpositionN1,
    AvisImpositionN2,
    SituationFamiliale,
    SituationProfessionnelle,
    Ressources,
    LogementActuel,
    Handicap,
    Autre,
}

const KINDS: [(PieceKind, &str); 9] = [
    (PieceKind::Identite, "identite"),
    (PieceKind::AvisImpositionN1, "avis_imposition_n1"),
    (PieceKind::AvisImpositionN2, "avis_imposition_n2"),
    (PieceKind::SituationFamiliale, "situation_familiale"),
    (PieceKind::SituationProfessionnelle, "situation_professionnelle"),
    (PieceKind::Ressources, "ressources"),
    (PieceKind::LogementActuel, "logement_actuel"),
    (PieceKind::Handicap, "handicap"),
    (PieceKind::Autre, "autre"),
];

/// Pieces that may not be asked of an applicant, with the reason given back.
const FORBIDDEN: [(&str, &str); 3] = [
    (
        "releve_bancaire",
        "bank statements may not be requested for a demande de logement social (arrêté du 22 décembre 2020)",
    ),
    (
        "carte_vitale",
        "the carte Vitale may not be requested for a demande de logement social (arrêté du 22 décembre 2020)",
    ),
    (
        "casier_judiciaire",
        "a criminal record extract may not be requested for a demande de logement social (arrêté du 22 décembre 2020)",
    ),
];

impl PieceKind {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if let Some((_, why)) = FORBIDDEN.iter().find(|(k, _)| *k == s) {
            return Err(ParseError::new(format!("piece kind {s:?} is refused: {why}")));
        }
        KINDS.iter().find(|(_, name)| *name == s).map(|(k, _)| *k).ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(_, n)| *n).collect();
            ParseError::new(format!("unknown piece kind {s:?}: expected one of {}", names.join(", ")))
        })
    }

    pub fn as_str(self) -> &'static str {
        KINDS.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).unwrap_or("autre")
    }
}

impl fmt::Display for PieceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_forbidden_kinds() {
        for (k, n) in KINDS {
            assert_eq!(PieceKind::parse(n).unwrap(), k);
            assert_eq!(k.as_str(), n);
        }
        assert!(PieceKind::parse("carte_vitale").unwrap_err().0.contains("may not be requested"));
        assert!(PieceKind::parse("passeport").unwrap_err().0.contains("expected one of"));
    }
}
