//! Integration tests through the real router (one test binary, one link).

mod common;
mod errors;
mod keys;
mod roundtrip;
mod tamper;
