//! Access decisions for DNU Vault, written as Cedar policies.
//!
//! A pure crate (no I/O beyond reading a policy directory, no async): the
//! vault describes who asks, what for and on which dossier in plain data
//! ([`AccessRequest`]); [`Engine::decide`] answers with the decision and the
//! policies that made it. Policy sets are validated against
//! `schema.cedarschema` when loaded, so a set that does not type-check never
//! serves a request. Deny by default: nothing is allowed unless a `permit`
//! matches and no `forbid` does.

mod engine;
mod error;
mod evaluate;
mod names;
mod request;
mod scope;
mod shapes;
mod slice;

pub use engine::{BUILTIN_SETS, Engine, PolicyError};
pub use evaluate::{PreparedPrincipal, Question};
pub use request::{
    AccessRequest, Action, Decision, DossierFacts, GrantFacts, OrgFacts, Principal, Resource, SignInFacts,
};
pub use scope::WorklistScope;
