//! Entity names as Cedar wants them: a type name parsed, an id beside it.
//!
//! The vault's type names and actions are parsed once: parsing them again
//! for every entity of every decision was a tenth of a decision's time.

use std::{str::FromStr, sync::LazyLock};

use cedar_policy::{EntityId, EntityTypeName, EntityUid};

use crate::{error::PolicyError, request::Action};

/// The entity types the vault builds.
const TYPES: [&str; 6] =
    ["Vault::Agent", "Vault::Applicant", "Vault::Organisation", "Vault::Dossier", "Vault::Platform", "Vault::Action"];

static PARSED: LazyLock<Vec<(&'static str, EntityTypeName)>> =
    LazyLock::new(|| TYPES.iter().filter_map(|t| EntityTypeName::from_str(t).ok().map(|n| (*t, n))).collect());

/// Each action's uid, in the order of `Action::ALL`.
static ACTIONS: LazyLock<Vec<Result<EntityUid, String>>> = LazyLock::new(|| {
    Action::ALL.iter().map(|a| parse("Vault::Action", a.as_str()).map_err(|e| e.to_string())).collect()
});

fn parse(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let t = EntityTypeName::from_str(ty).map_err(|e| PolicyError::Request(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

pub(crate) fn uid(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    match PARSED.iter().find(|(name, _)| *name == ty) {
        Some((_, t)) => Ok(EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))),
        None => parse(ty, id),
    }
}

/// `Vault::Action::"…"` for `action`.
pub(crate) fn action_uid(action: Action) -> Result<EntityUid, PolicyError> {
    let at = Action::ALL.iter().position(|a| *a == action);
    match at.and_then(|i| ACTIONS.get(i)) {
        Some(Ok(u)) => Ok(u.clone()),
        Some(Err(e)) => Err(PolicyError::Request(e.clone())),
        None => parse("Vault::Action", action.as_str()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cached_names_are_the_parsed_ones() {
        assert_eq!(PARSED.len(), TYPES.len(), "every type name parses");
        for a in Action::ALL {
            assert_eq!(action_uid(a).unwrap(), parse("Vault::Action", a.as_str()).unwrap());
        }
        assert_eq!(uid("Vault::Dossier", "D-1").unwrap(), parse("Vault::Dossier", "D-1").unwrap());
        assert_eq!(uid("Other::Kind", "x").unwrap(), parse("Other::Kind", "x").unwrap());
    }
}
