//! Entity names as Cedar wants them: a type name parsed, an id beside it.

use std::str::FromStr;

use cedar_policy::{EntityId, EntityTypeName, EntityUid};

use crate::error::PolicyError;

pub(crate) fn uid(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let t = EntityTypeName::from_str(ty).map_err(|e| PolicyError::Request(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}
