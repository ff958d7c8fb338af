//! Query strings parsed into the API's error shape: axum's own `Query`
//! answers a malformed one (`?version=abc`) in plain text, which no client
//! of a JSON API expects and the OpenAPI document does not describe.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// The query string as `T`; a malformed one is a 400 `bad_request` saying
/// which parameter is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        axum::extract::Query::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| Self(q))
            .map_err(|e| Error::BadRequest(e.body_text()))
    }
}
