//! DNU Vault: the encrypted document vault behind the *dossier numérique
//! unique* of French social housing. See `shared/DESIGN.md`.
//!
//! The library builds the whole application ([`startup::Application`]) so
//! that the `dnu-vault` binary and the tests start it the same way.

pub mod app;
pub mod applicants;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod dossiers;
pub mod error;
pub mod export;
pub mod grants;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod pieces;
pub mod routes;
pub mod sandbox;
pub mod sheets;
pub mod startup;
pub mod store;
pub mod web;

pub use app::Vault;
pub use config::Config;
pub use error::Error;
