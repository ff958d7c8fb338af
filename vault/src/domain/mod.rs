//! Validated domain types. Everything that comes from outside (HTTP, CLI,
//! configuration) is parsed into one of these at the boundary; only these
//! travel inward.

pub mod catalogue;
pub mod completeness;
mod contact;
mod email;
pub mod geo;
pub mod journal;
mod numero_unique;
mod org;
mod piece_kind;
mod purpose;
mod siren;
mod status;
mod territory;
mod validity;

pub use completeness::Completeness;
pub use contact::{Channel, Contact, ContactFields, NoticeKind};
pub use email::EmailAddress;
pub use numero_unique::NumeroUnique;
pub use org::OrgKind;
pub use piece_kind::PieceKind;
pub use purpose::Purpose;
pub use siren::Siren;
pub use status::{DossierStatus, RadiationReason};
pub use territory::{CommuneCode, GuichetCode, TerritoryCode};
pub use validity::{EXPIRING_WITHIN_DAYS, PieceValidity, VersionMark};

/// A value that failed validation: what was wrong, in words an operator or a
/// partner's developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
