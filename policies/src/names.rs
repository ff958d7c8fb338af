//! Entity names as Cedar wants them: a type name parsed, an id beside it.
//!
//! The vault's own type names are parsed once: parsing one runs Cedar's
//! grammar, and a decision names four entities (caller, organisation,
//! action, dossier), which made the names a large share of its time.

use std::{str::FromStr, sync::OnceLock};

use cedar_policy::{EntityId, EntityTypeName, EntityUid};

use crate::error::PolicyError;

/// The types the schema declares and the engine builds entities of.
const KNOWN: [&str; 6] =
    ["Vault::Agent", "Vault::Applicant", "Vault::Organisation", "Vault::Dossier", "Vault::Action", "Vault::Platform"];

fn parse(ty: &str) -> Result<EntityTypeName, PolicyError> {
    EntityTypeName::from_str(ty).map_err(|e| PolicyError::Request(e.to_string()))
}

fn type_name(ty: &str) -> Result<EntityTypeName, PolicyError> {
    static PARSED: OnceLock<Vec<(&'static str, EntityTypeName)>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| KNOWN.iter().filter_map(|k| parse(k).ok().map(|t| (*k, t))).collect());
    match parsed.iter().find(|(k, _)| *k == ty) {
        Some((_, t)) => Ok(t.clone()),
        None => parse(ty),
    }
}

pub(crate) fn uid(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    Ok(EntityUid::from_type_name_and_id(type_name(ty)?, EntityId::new(id)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn known_and_other_names_are_the_parsed_ones() {
        for ty in KNOWN.iter().copied().chain(["Action", "Other::Type"]) {
            assert_eq!(uid(ty, "x").unwrap(), EntityUid::from_type_name_and_id(parse(ty).unwrap(), EntityId::new("x")));
        }
        assert!(uid("not a type", "x").is_err());
    }
}
