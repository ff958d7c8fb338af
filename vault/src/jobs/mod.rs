//! Maintenance jobs run from the command line: garbage collection, key
//! rewrapping, demo seeding. Each reports what it did.

pub mod demo;
pub mod gc;
pub mod rewrap;
