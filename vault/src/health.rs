//! `GET /healthz` (the process answers) and `GET /readyz` (its database and
//! object store answer too).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{
    app::Vault,
    routes::{Auth, Doc, Produces, Routes},
};

pub fn router() -> Routes {
    Routes::new("operations")
        .get("/healthz", healthz, Doc::new("healthz", "The process answers (liveness)", Auth::None, Produces::Json))
        .get(
            "/readyz",
            readyz,
            Doc::new(
                "readyz",
                "The database and the object store answer too (readiness; 503 if not)",
                Auth::None,
                Produces::Json,
            ),
        )
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
