//! One authorisation decision: p50 and p99 over many single decisions, the
//! built-in default set, a bailleur reading a dossier of its territory with
//! a grant in the context (the policies all have to be looked at).
//!
//! Beside it, Cedar's own floor for the same question, through its public
//! API: the five policies the engine's slice holds for an agent reading a
//! dossier (the list `slice_tests` asserts), the request and entities
//! built once and decided again (`is_authorized` alone), and what any
//! decision about a new dossier has to build (the dossier's entity, the
//! context, the request, the entities).
//!
//! `cargo bench -p policies --bench decide`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
    time::{Duration, Instant},
};

use cedar_policy::{Authorizer, Context, Entities, Entity, EntityUid, PolicySet, Request, RestrictedExpression};

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
    floor();
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

/// The policies of the engine's slice for an agent reading a dossier.
const SLICE: [&str; 5] =
    ["agent-disabled", "autorisation-explicite", "guichet-territoire", "partenaire-territoire", "radie-partenaires"];

fn uid(t: &str, id: &str) -> EntityUid {
    EntityUid::from_str(&format!("{t}::\"{id}\"")).unwrap()
}

fn strings(v: &[&str]) -> RestrictedExpression {
    RestrictedExpression::new_set(v.iter().map(|s| RestrictedExpression::new_string((*s).to_owned())))
}

/// What a decision about a new dossier builds, at the least, through
/// Cedar's API: the dossier, the context, the request, the entities.
fn build(base: &Entities, n: u32) -> (Request, Entities) {
    let d = Entity::new(
        uid("Vault::Dossier", &format!("D{n}")),
        HashMap::from([
            ("status".to_owned(), RestrictedExpression::new_string("active".into())),
            ("communes".to_owned(), strings(&["59183", "59350"])),
            ("departements".to_owned(), strings(&["59"])),
        ]),
        HashSet::new(),
    )
    .unwrap();
    let context = Context::from_pairs([
        ("now".to_owned(), RestrictedExpression::new_long(1_795_000_000)),
        ("purpose".to_owned(), RestrictedExpression::new_string("CAL".into())),
        (
            "grant".to_owned(),
            RestrictedExpression::new_record([
                ("expires_at".to_owned(), RestrictedExpression::new_long(1_795_086_400)),
                ("revoked".to_owned(), RestrictedExpression::new_bool(false)),
                ("purpose".to_owned(), RestrictedExpression::new_string("CAL".into())),
            ])
            .unwrap(),
        ),
    ])
    .unwrap();
    let request =
        Request::new(uid("Vault::Agent", "b1"), uid("Vault::Action", "dossier.read"), d.uid(), context, None).unwrap();
    (request, base.clone().add_entities([d], None).unwrap())
}

fn floor() {
    let mut slice = PolicySet::new();
    for (_, text) in policies::BUILTIN_SETS[0].1 {
        for p in PolicySet::from_str(text).unwrap().policies() {
            let id = p.annotation("id").unwrap();
            if SLICE.contains(&id) {
                slice.add(p.new_id(cedar_policy::PolicyId::new(id))).unwrap();
            }
        }
    }
    assert_eq!(slice.policies().count(), SLICE.len());
    let org_uid = uid("Vault::Organisation", "habitat-nord");
    let org = Entity::new(
        org_uid.clone(),
        HashMap::from([
            ("kind".to_owned(), RestrictedExpression::new_string("bailleur".into())),
            ("registering".to_owned(), RestrictedExpression::new_bool(false)),
            ("communes".to_owned(), strings(&[])),
            ("departements".to_owned(), strings(&["59", "62"])),
        ]),
        HashSet::new(),
    )
    .unwrap();
    let agent = Entity::new(
        uid("Vault::Agent", "b1"),
        HashMap::from([
            ("organisation".to_owned(), RestrictedExpression::new_entity_uid(org_uid.clone())),
            ("active".to_owned(), RestrictedExpression::new_bool(true)),
        ]),
        HashSet::from([org_uid]),
    )
    .unwrap();
    let base = Entities::from_entities([org, agent], None).unwrap();
    let authorizer = Authorizer::new();
    let (request, entities) = build(&base, 0);
    assert_eq!(authorizer.is_authorized(&request, &slice, &entities).decision(), cedar_policy::Decision::Allow);
    let mut decide: Vec<Duration> = (0..50_000)
        .map(|_| {
            let t = Instant::now();
            let r = authorizer.is_authorized(&request, &slice, &entities);
            let e = t.elapsed();
            assert_eq!(r.decision(), cedar_policy::Decision::Allow);
            e
        })
        .collect();
    let mut built: Vec<Duration> = (0..50_000u32)
        .map(|n| {
            let t = Instant::now();
            let b = build(&base, n);
            let e = t.elapsed();
            drop(b);
            e
        })
        .collect();
    decide.sort();
    built.sort();
    let p50 = |v: &[Duration]| v[v.len() / 2].as_secs_f64() * 1e6;
    println!(
        "Cedar alone, same five policies: is_authorized on a built request p50 {:.1} µs; building a new dossier's request and entities p50 {:.1} µs; floor {:.1} µs",
        p50(&decide),
        p50(&built),
        p50(&decide) + p50(&built)
    );
}
