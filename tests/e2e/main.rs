//! End-to-end tests over the real `dnu-vault` binary on an ephemeral port.

mod crash;
mod lifecycle;
mod rewrap;
