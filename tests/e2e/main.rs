//! End-to-end tests over the real `dnu-vault` binary on an ephemeral port.
#![allow(clippy::unwrap_used)]

mod audit_kill;
mod cluster;
mod crash;
mod deploy;
mod flood;
mod full;
mod fuzz;
mod lifecycle;
mod logging;
mod outage;
mod pages;
mod powercut;
mod rewrap;
mod s3;
mod s3faults;
mod scanner;
mod scrub;
mod signin;
mod year;
