//! The endpoints an operator and a partner's developer read without a
//! dossier: `GET /healthz` (the process answers), `GET /readyz` (its
//! database and object store answer too), `GET /metrics` (Prometheus text)
//! and `GET /api/v1/catalogue` (the catalogue of pieces: the law, not a
//! secret).

use axum::{Json, extract::State, http::StatusCode, response::Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    app::Vault,
    domain::catalogue::{Catalogue, shipped},
    error::Error,
};

/// The process answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// How a dependency answered the readiness check.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answered {
    Ok,
    Unavailable,
}

/// Each dependency's answer (200 when both are `ok`, else 503).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Readiness {
    pub database: Answered,
    pub object_store: Answered,
}

/// How long `/readyz` waits for each dependency: a load balancer asks
/// every few seconds and must hear "no" quickly from a replica whose
/// database is gone, not after the requests' own connection timeout.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

pub async fn readyz(State(vault): State<Vault>) -> (StatusCode, Json<Readiness>) {
    async fn within(what: &str, check: impl Future<Output = Result<(), Error>>) -> Result<(), Error> {
        tokio::time::timeout(READY_WITHIN, check)
            .await
            .unwrap_or_else(|_| Err(Error::Unavailable(format!("{what} did not answer within {READY_WITHIN:?}"))))
    }
    let (db, store) =
        tokio::join!(within("the database", vault.db().check()), within("the object store", vault.store().check()));
    let status = |r: &Result<(), Error>, what: &str| match r {
        Ok(()) => Answered::Ok,
        Err(e) => {
            tracing::warn!(component = what, error = %e, "not ready");
            Answered::Unavailable
        }
    };
    let body = Readiness { database: status(&db, "database"), object_store: status(&store, "object_store") };
    let code = if db.is_ok() && store.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body))
}

pub async fn metrics() -> Response {
    crate::metrics::exposition()
}

pub async fn catalogue() -> Result<Json<&'static Catalogue>, Error> {
    shipped().map(Json).map_err(|e| Error::Config(format!("catalogue: {e}")))
}
