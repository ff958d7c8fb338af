//! Taking a dossier out of the vault.
//!
//! * `GET /api/v1/dossiers/{nu}/export.pdf`: the complete dossier as one
//!   PDF for a partner — a cover page listing the pieces, then each piece's
//!   sanitised rendition, one bookmark per piece, and on every page a
//!   watermark naming the recipient drawn into the pixels;
//! * `GET /api/v1/dossiers/{nu}/export.zip`: all of the applicant's data
//!   (originals as deposited, manifest, access trace).

pub mod applicant_data;
mod cover;
pub mod dossier_pdf;
mod zip;

use axum::{Router, routing::get};

use crate::app::Vault;

pub use dossier_pdf::{ExportPiece, compose};

pub fn router() -> Router<Vault> {
    Router::new()
        .route("/api/v1/dossiers/{nu}/export.pdf", get(dossier_pdf::export))
        .route("/api/v1/dossiers/{nu}/export.zip", get(applicant_data::export))
}
