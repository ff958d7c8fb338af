//! The `@worklist` reach of `dossier.read` permits: derived for the shipped
//! sets, refused when it lies, "all" when missing.
#![allow(clippy::unwrap_used)]

use policies::{BUILTIN_SETS, Engine, PolicyError, WorklistScope};

fn default_files() -> Vec<(String, String)> {
    BUILTIN_SETS[0].1.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())).collect()
}

#[test]
fn shipped_sets_reach_territory_grants_and_own_dossier_only() {
    for (name, _) in BUILTIN_SETS {
        let engine = Engine::builtin(name).unwrap();
        assert_eq!(
            engine.worklist_scope(),
            &WorklistScope { territory: true, grants: true, own_dossier: true, unrestricted: vec![] },
            "{name}"
        );
    }
}

#[test]
fn an_annotation_that_lies_is_refused_at_load() {
    // Claims the territory, but also lets every bailleur read anything.
    let mut files = default_files();
    files.push((
        "90-menteur.cedar".into(),
        r#"@id("menteur") @worklist("territory")
           permit (principal is Vault::Agent, action == Vault::Action::"dossier.read", resource is Vault::Dossier)
           when { principal.organisation.kind == "bailleur" };"#
            .into(),
    ));
    let err = Engine::from_files(files).unwrap_err();
    assert!(matches!(err, PolicyError::Worklist(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("menteur") && msg.contains("territory") && msg.contains("bailleur"), "{msg}");

    // Claims grants, but opens the dossier to State services without one.
    let mut files = default_files();
    files.push((
        "90-menteur.cedar".into(),
        r#"@id("menteur") @worklist("grant")
           permit (principal is Vault::Agent, action in [Vault::Action::"dossier.read"], resource is Vault::Dossier)
           when { principal.organisation.kind == "etat" || context has grant };"#
            .into(),
    ));
    assert!(matches!(Engine::from_files(files).unwrap_err(), PolicyError::Worklist(_)));

    let mut files = default_files();
    files.push((
        "90-faute.cedar".into(),
        r#"@id("faute") @worklist("departement")
           permit (principal, action == Vault::Action::"dossier.read", resource is Vault::Dossier);"#
            .into(),
    ));
    let err = Engine::from_files(files).unwrap_err().to_string();
    assert!(err.contains("\"departement\"") && err.contains("must be"), "{err}");
}

#[test]
fn a_permit_without_annotation_makes_the_worklist_examine_everything() {
    let mut files = default_files();
    files.push((
        "90-dalo.cedar".into(),
        r#"@id("etat-dalo")
           permit (principal is Vault::Agent, action == Vault::Action::"dossier.read", resource is Vault::Dossier)
           when { principal.organisation.kind == "etat" };"#
            .into(),
    ));
    let engine = Engine::from_files(files).unwrap();
    assert_eq!(engine.worklist_scope().unrestricted, vec!["etat-dalo".to_owned()]);
    // A permit that never opens a dossier needs no annotation.
    assert!(Engine::builtin("default").unwrap().worklist_scope().unrestricted.is_empty());
}
