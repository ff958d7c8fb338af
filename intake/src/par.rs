//! Pages worked on by several threads at once, answers in page order.
//!
//! The confined worker may start threads (never processes, `jail`), and
//! one upload's pages are independent: rendering and encoding them on every
//! core the worker was given cuts an upload's wait, not its CPU.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Refusal;

/// `f` applied to every item on at most `threads` threads, each with its
/// own state made by `init`; the results in the items' order, or the
/// refusal of the first item refused (the others stop taking work).
pub(crate) fn map_with<'a, T: Sync, S, U: Send>(
    items: &'a [T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &'a T) -> Result<U, Refusal> + Sync,
) -> Result<Vec<U>, Refusal> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let refused = AtomicBool::new(false);
    let work = || {
        let mut state = init();
        let mut done = Vec::new();
        while !refused.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let answer = f(&mut state, item);
            if answer.is_err() {
                refused.store(true, Ordering::Relaxed);
            }
            done.push((i, answer));
        }
        done
    };
    let mut answers: Vec<(usize, Result<U, Refusal>)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for t in others {
            // A panic in a page is the worker's crash, as it was on one thread.
            all.extend(t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    answers.sort_unstable_by_key(|(i, _)| *i);
    // With a refusal, later pages may be missing; earlier ones are all here,
    // so the first refusal met in order is the first page refused.
    answers.into_iter().map(|(_, a)| a).collect()
}

/// [`map_with`] without per-thread state.
pub(crate) fn map<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<U, Refusal> + Sync,
) -> Result<Vec<U>, Refusal> {
    map_with(items, threads, || (), |(), item| f(item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefusalCode;

    #[test]
    fn answers_in_order_on_several_threads() {
        let items: Vec<u32> = (0..97).collect();
        let out = map(&items, 3, |&i| Ok(i * 2)).unwrap();
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_page_refused_is_the_one_answered() {
        let items: Vec<u32> = (0..200).collect();
        let refuse = |&i: &u32| {
            if i == 41 || i == 150 {
                Err(Refusal::unusable(RefusalCode::RenderFailed, format!("page {i}")))
            } else {
                Ok(i)
            }
        };
        for threads in [1, 2, 4] {
            let Err(Refusal::Unusable { message, .. }) = map(&items, threads, refuse) else {
                panic!("the refusal was lost on {threads} threads")
            };
            assert_eq!(message, "page 41");
        }
    }
}
