//! Maintenance jobs run from the command line: garbage collection, integrity
//! checks, key rewrapping, demo seeding, and the daily pass of a demand's
//! legal year (`lifecycle`, also run by `serve`). Each reports what it did.

pub mod backup;
pub mod check;
pub mod demo;
pub mod gc;
pub mod lifecycle;
pub mod purge;
pub mod reseal;
pub mod rewrap;
