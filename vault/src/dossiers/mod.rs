//! Dossiers: registration, consultation, the worklist and the lifecycle
//! (renewal, radiation).

pub mod register;
pub use register::ShownCredentials;
pub(crate) use register::{Credentials, one_year_after};
mod lifecycle;
pub mod show;
pub mod worklist;
pub use show::OrgRef;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{app::Vault, db::dossiers::Dossier, domain::NumeroUnique, error::Error};

pub fn router() -> Router<Vault> {
    Router::new()
        .route("/api/v1/dossiers", post(register::register).get(worklist::worklist))
        .route("/api/v1/dossiers/{nu}", get(show::show))
        .route("/api/v1/dossiers/{nu}/renew", post(lifecycle::renew))
        .route("/api/v1/dossiers/{nu}/radiate", post(lifecycle::radiate))
}

/// Resolves the `{nu}` path segment: 422 for a malformed number, 404 for an
/// unknown one.
pub(crate) async fn find(vault: &Vault, nu: &str) -> Result<Dossier, Error> {
    let nu = NumeroUnique::parse(nu)?;
    vault.db().dossier_by_nu(&nu).await?.ok_or_else(|| Error::NotFound(format!("no dossier with numéro unique {nu}")))
}
