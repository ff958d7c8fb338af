//! `GET /healthz` (the process answers) and `GET /readyz` (its database and
//! object store answer too).

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};

use crate::app::Vault;

pub fn router() -> Router<Vault> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(vault): State<Vault>) -> (StatusCode, Json<Value>) {
    let (db, store) = tokio::join!(vault.db().check(), vault.store().check());
    let status = |r: &Result<(), crate::error::Error>, what: &str| match r {
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
