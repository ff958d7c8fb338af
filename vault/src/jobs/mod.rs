//! Maintenance jobs run from the command line: garbage collection, integrity
//! checks, key rewrapping, demo seeding. Each reports what it did.

pub mod backup;
pub mod check;
pub mod demo;
pub mod gc;
pub mod purge;
pub mod reseal;
pub mod rewrap;
