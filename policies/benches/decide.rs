//! One authorisation decision: p50 and p99 over many single decisions, the
//! built-in default set, a bailleur reading a dossier of its territory with
//! a grant in the context (the policies all have to be looked at).
//!
//! `cargo bench -p policies --bench decide`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use policies::{AccessRequest, Action, DossierFacts, Engine, GrantFacts, OrgFacts, Principal, Question, Resource};

fn main() {
    let engine = Engine::builtin("default").unwrap();
    let t = Instant::now();
    let _ = Engine::builtin("default").unwrap();
    let load = t.elapsed();
    let req = AccessRequest {
        principal: Principal::Agent {
            id: "b1".into(),
            organisation: OrgFacts {
                id: "habitat-nord".into(),
                kind: "bailleur".into(),
                registering: false,
                communes: vec![],
                departements: vec!["59".into(), "62".into()],
            },
            active: true,
        },
        action: Action::DossierRead,
        resource: Resource::Dossier(DossierFacts {
            id: "D".into(),
            status: "active".into(),
            communes: vec!["59183".into(), "59350".into()],
            departements: vec!["59".into()],
        }),
        now: 1_795_000_000,
        purpose: Some("CAL".into()),
        grant: Some(GrantFacts { expires_at: 1_795_086_400, revoked: false, purpose: "CAL".into() }),
        signin: None,
    };
    for _ in 0..2_000 {
        assert!(engine.decide(&req).allowed);
    }
    let mut times: Vec<Duration> = (0..50_000)
        .map(|_| {
            let t = Instant::now();
            let d = engine.decide(&req);
            let e = t.elapsed();
            assert!(d.allowed);
            e
        })
        .collect();
    times.sort();
    // As the worklist decides: the caller's entities built once, then one
    // question per candidate dossier.
    let prepared = engine.prepare(&req.principal);
    let q = Question {
        action: req.action,
        resource: &req.resource,
        now: req.now,
        purpose: req.purpose.as_deref(),
        grant: req.grant.as_ref(),
        signin: req.signin.as_ref(),
    };
    let mut per_candidate: Vec<Duration> = (0..50_000)
        .map(|_| {
            let t = Instant::now();
            let d = prepared.decide(&engine, &q);
            let e = t.elapsed();
            assert!(d.allowed);
            e
        })
        .collect();
    per_candidate.sort();
    let pc = |q: f64| per_candidate[((per_candidate.len() as f64 - 1.0) * q) as usize];
    println!(
        "one decision for a prepared caller (worklist): p50 {:.1} µs, p99 {:.1} µs",
        pc(0.5).as_secs_f64() * 1e6,
        pc(0.99).as_secs_f64() * 1e6
    );
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "policy set load + validation: {:.1} ms; one decision over {} runs: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        load.as_secs_f64() * 1e3,
        times.len(),
        p(0.5).as_secs_f64() * 1e6,
        p(0.99).as_secs_f64() * 1e6,
        times[times.len() - 1].as_secs_f64() * 1e6
    );
}
