//! The authorisation matrix, as a table a DPO can read: who may do what on
//! a dossier of Dunkerque (commune 59183), with or without a valid explicit
//! grant for the caller's organisation, on an active or a radiated dossier.
//! Every cell is asserted, on the default set and on the consult-only
//! charter (whose differences are listed below the table).
#![allow(clippy::unwrap_used)]

use policies::{AccessRequest, Action, DossierFacts, Engine, GrantFacts, OrgFacts, Principal, Resource, SignInFacts};

const NOW: i64 = 1_795_000_000;

/// Column order of the table.
const ACTIONS: [Action; 12] = [
    Action::DossierRegister,
    Action::DossierRead,
    Action::DossierRenew,
    Action::DossierRadiate,
    Action::PieceUpload,
    Action::PieceRead,
    Action::PieceReadRendition,
    Action::PieceReadOriginal,
    Action::DossierExport,
    Action::AuditRead,
    Action::GrantManage,
    Action::ApplicantExport,
];

fn org(id: &str, kind: &str, registering: bool, communes: &[&str], deps: &[&str]) -> OrgFacts {
    OrgFacts {
        id: id.into(),
        kind: kind.into(),
        registering,
        communes: communes.iter().map(|s| (*s).to_owned()).collect(),
        departements: deps.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn agent(id: &str, o: OrgFacts, active: bool) -> Principal {
    Principal::Agent { id: id.into(), organisation: o, active }
}

fn principal(name: &str) -> Principal {
    match name {
        "applicant" => Principal::Applicant { id: "a1".into(), dossier: "D".into() },
        "other-applicant" => Principal::Applicant { id: "a2".into(), dossier: "E".into() },
        "guichet-in" => agent("g1", org("mairie-dk", "guichet", true, &["59183"], &[]), true),
        "guichet-out" => agent("g2", org("mairie-calais", "guichet", true, &["62193"], &[]), true),
        "bailleur-in" => agent("b1", org("habitat-nord", "bailleur", false, &[], &["59"]), true),
        "bailleur-out" => agent("b2", org("logis-artois", "bailleur", false, &[], &["62"]), true),
        "bailleur-guichet" => agent("b3", org("bailleur-avec-guichet", "bailleur", true, &[], &["59"]), true),
        "etat-in" => agent("s1", org("ddets-59", "etat", false, &[], &["59"]), true),
        "gestionnaire" => agent("m1", org("fichier-partage", "gestionnaire", false, &[], &["59", "62"]), true),
        // A manager wrongly flagged registering (the vault now refuses to
        // create one; rows made before may exist): still no content.
        "gestionnaire-reg" => agent("m2", org("fichier-partage", "gestionnaire", true, &["59183"], &["59"]), true),
        "disabled" => agent("g3", org("mairie-dk", "guichet", true, &["59183"], &[]), false),
        other => panic!("unknown principal {other}"),
    }
}

fn dossier(status: &str) -> Resource {
    Resource::Dossier(DossierFacts {
        id: "D".into(),
        status: status.into(),
        communes: vec!["59183".into()],
        departements: vec!["59".into()],
    })
}

fn grant(valid: bool) -> Option<GrantFacts> {
    valid.then(|| GrantFacts { expires_at: NOW + 86_400, revoked: false, purpose: "attribution".into() })
}

// Columns: register read renew radiate upload piece rendition original export audit grant applicant-export
//           g        r    n     x       u      p     e         o        E      a     G     A
// Y = allowed, - = denied.
#[rustfmt::skip]
const DEFAULT: &[(&str, &str, &str, &str)] = &[
    // principal          grant      dossier     g r n x u p e o E a G A
    ("applicant",        "none",    "active",   "- Y Y - Y Y Y Y - Y - Y"),
    ("applicant",        "valid",   "active",   "- Y Y - Y Y Y Y - Y - Y"),
    ("applicant",        "none",    "radiated", "- Y - - - Y Y Y - Y - Y"),
    ("applicant",        "valid",   "radiated", "- Y - - - Y Y Y - Y - Y"),
    ("other-applicant",  "none",    "active",   "- - - - - - - - - - - -"),
    ("other-applicant",  "valid",   "active",   "- - - - - - - - - - - -"),
    ("other-applicant",  "none",    "radiated", "- - - - - - - - - - - -"),
    ("other-applicant",  "valid",   "radiated", "- - - - - - - - - - - -"),
    ("guichet-in",       "none",    "active",   "Y Y Y Y Y Y Y Y Y - Y -"),
    ("guichet-in",       "valid",   "active",   "Y Y Y Y Y Y Y Y Y - Y -"),
    ("guichet-in",       "none",    "radiated", "- Y - - - Y Y Y Y - - -"),
    ("guichet-in",       "valid",   "radiated", "- Y - - - Y Y Y Y - - -"),
    ("guichet-out",      "none",    "active",   "- - - - - - - - - - - -"),
    ("guichet-out",      "valid",   "active",   "- Y - - - Y Y - Y - - -"),
    ("guichet-out",      "none",    "radiated", "- - - - - - - - - - - -"),
    ("guichet-out",      "valid",   "radiated", "- Y - - - Y Y - Y - - -"),
    ("bailleur-in",      "none",    "active",   "- Y - - - Y Y - Y - - -"),
    ("bailleur-in",      "valid",   "active",   "- Y - - - Y Y - Y - - -"),
    ("bailleur-in",      "none",    "radiated", "- - - - - - - - - - - -"),
    ("bailleur-in",      "valid",   "radiated", "- - - - - - - - - - - -"),
    ("bailleur-out",     "none",    "active",   "- - - - - - - - - - - -"),
    ("bailleur-out",     "valid",   "active",   "- Y - - - Y Y - Y - - -"),
    ("bailleur-out",     "none",    "radiated", "- - - - - - - - - - - -"),
    ("bailleur-out",     "valid",   "radiated", "- - - - - - - - - - - -"),
    ("bailleur-guichet", "none",    "active",   "Y Y Y Y Y Y Y Y Y - Y -"),
    ("bailleur-guichet", "valid",   "active",   "Y Y Y Y Y Y Y Y Y - Y -"),
    ("bailleur-guichet", "none",    "radiated", "- Y - - - Y Y Y Y - - -"),
    ("bailleur-guichet", "valid",   "radiated", "- Y - - - Y Y Y Y - - -"),
    ("etat-in",          "none",    "active",   "- Y - - - Y Y - Y - - -"),
    ("etat-in",          "valid",   "active",   "- Y - - - Y Y - Y - - -"),
    ("etat-in",          "none",    "radiated", "- - - - - - - - - - - -"),
    ("etat-in",          "valid",   "radiated", "- - - - - - - - - - - -"),
    ("gestionnaire",     "none",    "active",   "- - - - - - - - - - - -"),
    ("gestionnaire",     "valid",   "active",   "- - - - - - - - - - - -"),
    ("gestionnaire",     "none",    "radiated", "- - - - - - - - - - - -"),
    ("gestionnaire",     "valid",   "radiated", "- - - - - - - - - - - -"),
    ("gestionnaire-reg", "none",    "active",   "- - - - - - - - - - - -"),
    ("gestionnaire-reg", "valid",   "active",   "- - - - - - - - - - - -"),
    ("gestionnaire-reg", "none",    "radiated", "- - - - - - - - - - - -"),
    ("gestionnaire-reg", "valid",   "radiated", "- - - - - - - - - - - -"),
    ("disabled",         "none",    "active",   "- - - - - - - - - - - -"),
    ("disabled",         "valid",   "active",   "- - - - - - - - - - - -"),
    ("disabled",         "none",    "radiated", "- - - - - - - - - - - -"),
    ("disabled",         "valid",   "radiated", "- - - - - - - - - - - -"),
];

/// The consult-only charter (Dunkerque): only mairies register and complete
/// dossiers; a landlord with its own counter consults like any landlord.
#[rustfmt::skip]
const CONSULT_ONLY_DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    ("bailleur-guichet", "none",    "active",   "- Y - - - Y Y - Y - - -"),
    ("bailleur-guichet", "valid",   "active",   "- Y - - - Y Y - Y - - -"),
    ("bailleur-guichet", "none",    "radiated", "- - - - - - - - - - - -"),
    ("bailleur-guichet", "valid",   "radiated", "- - - - - - - - - - - -"),
];

fn check(engine: &Engine, table: &[(&str, &str, &str, &str)]) -> usize {
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (who, g, status, expected) in table {
        let marks: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(marks.len(), ACTIONS.len(), "row {who}/{g}/{status} has {} cells", marks.len());
        for (action, mark) in ACTIONS.iter().zip(marks) {
            let req = AccessRequest {
                principal: principal(who),
                action: *action,
                resource: dossier(status),
                now: NOW,
                // What the vault asks with: the grant's purpose, unless the
                // agent declared another (`grant_purposes_must_match`).
                purpose: (*g == "valid").then(|| "attribution".into()),
                grant: grant(*g == "valid"),
                signin: None,
            };
            let d = engine.decide(&req);
            let want = mark == "Y";
            if d.allowed != want {
                wrong.push(format!(
                    "{who} / grant {g} / {status} / {}: expected {mark}, policies {:?}",
                    action.as_str(),
                    d.policies
                ));
            }
            cells += 1;
        }
    }
    assert!(wrong.is_empty(), "{} cells differ:\n{}", wrong.len(), wrong.join("\n"));
    cells
}

#[test]
fn default_set_matrix() {
    let engine = Engine::builtin("default").unwrap();
    assert_eq!(check(&engine, DEFAULT), 528);
}

#[test]
fn consult_only_set_matrix() {
    let engine = Engine::builtin("consult-only").unwrap();
    let table: Vec<_> = DEFAULT
        .iter()
        .map(|row| *CONSULT_ONLY_DIFFERENCES.iter().find(|d| (d.0, d.1, d.2) == (row.0, row.1, row.2)).unwrap_or(row))
        .collect();
    assert_eq!(check(&engine, &table), 528);
    // The differences are real: the default set decides those rows otherwise.
    let default = Engine::builtin("default").unwrap();
    let req = AccessRequest {
        principal: principal("bailleur-guichet"),
        action: Action::DossierRegister,
        resource: dossier("active"),
        now: NOW,
        purpose: None,
        grant: None,
        signin: None,
    };
    assert!(default.decide(&req).allowed && !engine.decide(&req).allowed);
}

#[test]
fn expired_or_revoked_grants_give_nothing() {
    let engine = Engine::builtin("default").unwrap();
    let mut req = AccessRequest {
        principal: principal("bailleur-out"),
        action: Action::DossierRead,
        resource: dossier("active"),
        now: NOW,
        purpose: Some("attribution".into()),
        grant: Some(GrantFacts { expires_at: NOW + 1, revoked: false, purpose: "attribution".into() }),
        signin: None,
    };
    let allowed = engine.decide(&req);
    assert!(allowed.allowed);
    assert_eq!(allowed.policies, vec!["autorisation-explicite".to_owned()], "decisions name their policies");
    // Red-team finding 7: a grant for a CAL opens nothing for a DALO file.
    req.purpose = Some("dalo".into());
    assert!(!engine.decide(&req).allowed, "another purpose than the grant's");
    req.purpose = None;
    assert!(!engine.decide(&req).allowed, "no purpose at all");
    req.purpose = Some("attribution".into());
    req.grant = Some(GrantFacts { expires_at: NOW, revoked: false, purpose: "attribution".into() });
    assert!(!engine.decide(&req).allowed, "a grant expiring now has expired");
    req.grant = Some(GrantFacts { expires_at: NOW + 86_400, revoked: true, purpose: "attribution".into() });
    assert!(!engine.decide(&req).allowed);
}

#[test]
fn only_the_gestionnaire_manages_the_platform() {
    for set in ["default", "consult-only"] {
        let engine = Engine::builtin(set).unwrap();
        for who in ["applicant", "guichet-in", "bailleur-in", "etat-in", "gestionnaire", "disabled"] {
            if who == "applicant" {
                continue; // platform.manage does not apply to applicants (schema)
            }
            let req = AccessRequest {
                principal: principal(who),
                action: Action::PlatformManage,
                resource: Resource::Platform,
                now: NOW,
                purpose: None,
                grant: None,
                signin: None,
            };
            assert_eq!(engine.decide(&req).allowed, who == "gestionnaire", "{set}: {who}");
        }
    }
}

#[test]
fn invalid_policy_sets_are_refused_with_the_reason() {
    let bad_attr = r#"@id("typo") permit (principal is Vault::Agent, action, resource is Vault::Dossier) when { principal.organisation.kindd == "x" };"#;
    let err = Engine::from_files([("bad.cedar".to_owned(), bad_attr.to_owned())]).unwrap_err().to_string();
    assert!(err.contains("does not validate") && err.contains("kindd"), "{err}");
    let syntax =
        Engine::from_files([("broken.cedar".to_owned(), "permit (principal,".to_owned())]).unwrap_err().to_string();
    assert!(syntax.starts_with("broken.cedar:"), "{syntax}");
    let no_id =
        Engine::from_files([("x.cedar".to_owned(), "permit (principal, action, resource);".to_owned())]).unwrap_err();
    assert!(no_id.to_string().contains("@id"));
    let dir = std::env::temp_dir().join(format!("policies-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(Engine::load_dir(&dir).unwrap_err().to_string().contains("no .cedar file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shipped_directories_equal_the_built_in_sets() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for set in ["default", "consult-only"] {
        let from_dir = Engine::load_dir(&root.join(set)).unwrap();
        let builtin = Engine::builtin(set).unwrap();
        let (mut a, mut b) = (from_dir.policy_ids(), builtin.policy_ids());
        a.sort();
        b.sort();
        assert_eq!(a, b, "{set}");
    }
}

#[test]
fn originals_need_a_second_factor_after_proconnect() {
    let engine = Engine::builtin("default").unwrap();
    let ask = |action, acr: Option<&str>| {
        engine.decide(&AccessRequest {
            principal: principal("guichet-in"),
            action,
            resource: dossier("active"),
            now: NOW,
            purpose: None,
            grant: None,
            signin: acr.map(|a| SignInFacts { acr: a.into(), amr: vec!["pwd".into()] }),
        })
    };
    let original = ask(Action::PieceReadOriginal, Some("eidas1"));
    assert!(!original.allowed);
    assert_eq!(original.policies, vec!["originaux-double-facteur".to_owned()]);
    assert!(ask(Action::PieceReadRendition, Some("eidas1")).allowed, "renditions at eidas1");
    for strong in ["eidas1-mfa", "eidas2", "eidas3"] {
        assert!(ask(Action::PieceReadOriginal, Some(strong)).allowed, "{strong}");
    }
    // Machine clients (no sign-in through a provider) are not concerned.
    assert!(ask(Action::PieceReadOriginal, None).allowed);
}

/// The engine keeps callers' entities between requests; an organisation
/// whose territory or kind changes, or an agent disabled, is decided on
/// its new facts at once, never on the kept ones.
#[test]
fn a_caller_whose_facts_change_is_decided_on_the_new_facts() {
    let engine = Engine::builtin("default").unwrap();
    let ask = |p: Principal| {
        engine
            .decide(&AccessRequest {
                principal: p,
                action: Action::DossierRead,
                resource: dossier("active"),
                now: NOW,
                purpose: None,
                grant: None,
                signin: None,
            })
            .allowed
    };
    let dk = || org("mairie-dk", "guichet", true, &["59183"], &[]);
    assert!(ask(agent("g1", dk(), true)));
    assert!(ask(agent("g1", dk(), true)), "kept entities, same answer");
    let moved = org("mairie-dk", "guichet", true, &["62193"], &[]);
    assert!(!ask(agent("g1", moved, true)), "territory changed: no longer its dossier");
    assert!(!ask(agent("g1", dk(), false)), "agent disabled");
    assert!(!ask(agent("g1", org("mairie-dk", "gestionnaire", false, &["59183"], &[]), true)), "kind changed");
    assert!(ask(agent("g1", dk(), true)), "and back");
}
