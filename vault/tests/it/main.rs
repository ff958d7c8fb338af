//! Integration tests through the real router (one test binary, one link).
#![allow(clippy::unwrap_used)]

mod access;
mod applicants;
mod audit;
mod backup;
mod common;
mod communes;
mod completeness;
mod errors;
mod export;
mod franceconnect;
mod grants;
mod idp;
mod jail;
mod keys;
mod lifecycle;
mod merges;
mod migrations;
mod notices;
mod operations;
mod photos;
mod proconnect;
mod roundtrip;
mod safe_intake;
mod sandbox;
mod scanned;
mod sheets;
mod store;
mod tamper;
mod upload_body;
mod web;
mod worklist;
