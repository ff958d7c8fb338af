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
pub mod scrub;
mod verify;

use futures_util::{Stream, StreamExt, future::BoxFuture};

use crate::{app::Vault, error::Error};

/// One batch of a job's work. Boxed, and collected before streaming: a
/// stream over a borrowing iterator of futures is otherwise not provably
/// `Send` for `serve`'s spawned loop (rust-lang/rust#102211).
pub(crate) type Batch<'a, T> = BoxFuture<'a, Result<T, Error>>;

/// The batches' results in order, as many under way at once as the
/// database writes side by side ([`crate::db::Db::batch_writers`]): the
/// vault prepares one while the database writes the others. Each batch
/// stands alone, so a kill between them loses nothing.
pub(crate) fn under_way<'a, T: 'a>(
    vault: &Vault,
    batches: Vec<Batch<'a, T>>,
) -> impl Stream<Item = Result<T, Error>> + 'a {
    futures_util::stream::iter(batches).buffered(vault.db().batch_writers())
}
