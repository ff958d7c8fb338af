//! The endpoints an operator and a partner's developer read without a
//! dossier: `GET /healthz` (the process answers), `GET /readyz` (its
//! database and object store answer too), `GET /metrics` (Prometheus text)
//! and `GET /api/v1/catalogue` (the catalogue of pieces: the law, not a
//! secret).

use axum::{Json, extract::State, http::StatusCode, response::Response};
use serde_json::{Value, json};

use crate::{
    app::Vault,
    domain::catalogue::{Catalogue, shipped},
    error::Error,
};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(vault): State<Vault>) -> (StatusCode, Json<Value>) {
    let (db, store) = tokio::join!(vault.db().check(), vault.store().check());
    let status = |r: &Result<(), Error>, what: &str| match r {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(component = what, error = %e, "not ready");
            "unavailable"
        }
    };
    let body = json!({ "database": status(&db, "database"), "object_store": status(&store, "object_store") });
    let code = if db.is_ok() && store.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body))
}

pub async fn metrics() -> Response {
    crate::metrics::exposition()
}

pub async fn catalogue() -> Result<Json<&'static Catalogue>, Error> {
    shipped().map(Json).map_err(|e| Error::Config(format!("catalogue: {e}")))
}
