//! `scanner-ingest`: runs beside a guichet's scan-to-folder scanner. It
//! turns scans into clean, compact PDFs (`scan`), reads separator sheets
//! to know which dossier and kind of piece each group of pages is
//! (`batch`), and files them through the vault's HTTP API from a durable
//! queue (`queue`, `upload`), watching the scanner's folder (`watch`).

pub mod batch;
pub mod cli;
pub mod convert;
pub mod error;
pub mod lots;
pub mod pdf_worker;
pub mod queue;
pub mod scan;
pub mod spool;
pub mod status;
pub mod synth;
pub mod telemetry;
pub mod upload;
pub mod watch;

pub use error::Error;
