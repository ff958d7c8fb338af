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

use crate::routes::{Auth, Doc, Produces, Routes};

pub use dossier_pdf::{ExportPiece, compose};

pub fn router() -> Routes {
    Routes::new("exports")
        .get(
            "/api/v1/dossiers/{nu}/export.pdf",
            dossier_pdf::export,
            Doc::new(
                "exportDossier",
                "The complete dossier as one PDF, watermarked for the caller",
                Auth::Bearer,
                Produces::Pdf,
            ),
        )
        .get(
            "/api/v1/dossiers/{nu}/export.zip",
            applicant_data::export,
            Doc::new(
                "exportApplicantData",
                "Everything held about the applicant (the applicant only)",
                Auth::Bearer,
                Produces::Zip,
            ),
        )
}
