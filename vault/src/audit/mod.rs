//! The tamper-evident audit journal: hash-chained events (see
//! `db::audit`), signed checkpoints written out of the database into the
//! object store, and their verification.
//!
//! A checkpoint says "event N had hash H" under an Ed25519 key kept apart
//! from the data keys. With the chain, it catches what the chain alone
//! cannot: someone who deletes the last events and rewinds the head.

mod checkpoint;
mod export;
mod trace;
mod verify;

pub use checkpoint::{Checkpoint, write_checkpoint};
pub use export::{ExportFilter, export};
pub use trace::{TraceEvent, TraceOrg, events_of, pseudonym, trace, trace_of};
pub use verify::{VerifyOptions, VerifyReport, verify, verify_with};
