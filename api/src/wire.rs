//! The JSON the vault answers that `scanner-ingest` reads: the error body
//! every refusal carries, and the part of an upload's answer a client
//! needs to know what was filed. The vault writes the error body with
//! [`ErrorBody`]; its upload answer holds more fields than
//! [`UploadReceipt`] reads, and a vault test checks it still reads.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": …, "message": …}}`: every refusal and failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable code (`forbidden`, `password_protected`, `internal`…).
    pub code: String,
    /// What went wrong, for a person (English in the API).
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code: code.to_owned(), message: message.into() } }
    }
}

/// What an upload filed: the piece, the version, and whether these exact
/// bytes were already there (`duplicate`, answered 200 instead of 201).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UploadReceipt {
    pub piece: IdRef,
    pub version: IdRef,
    pub duplicate: bool,
}

/// An object named by its id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdRef {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_body_round_trips() {
        let body = ErrorBody::new("forbidden", "no");
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(text, r#"{"error":{"code":"forbidden","message":"no"}}"#);
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), body);
    }
}
