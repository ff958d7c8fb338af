//! The complete dossier as one PDF for a partner
//! (`GET /api/v1/dossiers/{nu}/export.pdf`): a cover page listing the
//! pieces, then each piece's sanitised rendition, one bookmark per piece,
//! and on every page a watermark naming the recipient drawn into the
//! pixels.

mod cover;
mod dossier_pdf;

use axum::{Router, routing::get};

use crate::app::Vault;

pub use dossier_pdf::{ExportPiece, compose};

pub fn router() -> Router<Vault> {
    Router::new().route("/api/v1/dossiers/{nu}/export.pdf", get(dossier_pdf::export))
}
