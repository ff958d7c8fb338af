//! DNU Vault: the encrypted document vault behind the *dossier numérique
//! unique* of French social housing. See `docs/ARCHITECTURE.md` for the
//! floors below and `shared/DESIGN.md` for the domain.
//!
//! The library builds the whole application ([`startup::Application`]) so
//! that the `dnu-vault` binary and the tests start it the same way.
//!
//! Modules are listed by floor, lowest first. A module may use its own
//! floor (without a cycle) and the floors below, never one above:
//! `vault/tests/layers.rs` reads every `crate::` path and fails otherwise.

// Floor 0, leaves: values and rules that need nothing of the vault.
pub mod clock; //        time: Unix ms, RFC 3339, ISO dates
pub mod config; //       settings, resolved once
pub mod crypto; //       keys, STREAM sealing, hashes (DESIGN §5)
pub mod domain; //       parsed types: numéro unique, kinds, catalogue, journal vocabulary
pub mod error; //        the one error type and its HTTP shape
pub mod gate; //         bounded costly work, per-source attempt budgets
pub mod query; //        query strings parsed into the API's error shape
pub mod reply; //        answers carrying document content
pub mod zip; //          ZIP archives written as a stream

// Floor 1, infrastructure: what the vault stands on.
pub mod db; //           all SQL, one file per entity
pub mod keys; //         the three key files, one load-or-create rule
pub mod mail; //         e-mail out through SMTP
pub mod memory; //       freed memory given back to the system
pub mod metrics; //      the process's counters and their exposition
pub mod oidc; //         OpenID Connect: ProConnect and FranceConnect, every check
pub mod sandbox; //      confined intake workers
pub mod store; //        object store: directory or S3

// Floor 2, state.
pub mod app; //          `Vault`: database, store, keys, policies, sandbox

// Floor 3, access: who may, and the only way to content.
pub mod access; //       the seam: parse, find, decide, then act
pub mod auth; //         principals, tokens, the policy decision
pub mod sealed; //       plaintext ⇄ stored ciphertext

// Floor 4, features: operations, each a plain function, with thin handlers.
pub mod applicants; //   attestation credentials, applicant sign-in
pub mod audit; //        checkpoints, verification, the applicant's trace
pub mod dossiers; //     registration, reading, worklist, lifecycle
pub mod export; //       the watermarked PDF, the applicant's ZIP
pub mod grants; //       explicit grants
pub mod jobs; //         backup, restore, check, gc, rewrap, demo, the daily pass
pub mod notices; //      the outbox of notices to applicants, the guichets' letters
pub mod operations; //   health, readiness, metrics, catalogue
pub mod pieces; //       upload, metadata, content of versions
pub mod sheets; //       separator sheets
pub mod signin; //       sign-in through ProConnect and FranceConnect

// Floor 5, faces: how people and programs reach the features.
pub mod cli; //          the `dnu-vault` commands
pub mod listener; //     accepting connections; request bodies watched
pub mod openapi; //      the OpenAPI document of the route table
pub mod request; //      the request span and id
pub mod router; //       the route table: every URL, API and pages
pub mod routes; //       the builder that keeps each route with its documentation
pub mod startup; //      binding and serving
pub mod web; //          the pages

pub use app::Vault;
pub use config::Config;
pub use error::Error;
