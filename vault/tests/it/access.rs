//! The access seam: a caller without rights learns nothing about the
//! pieces of a dossier it may not read — a real piece id and a made-up one
//! get the same refusal, and both are traced as denials; an internal
//! failure of the intake worker is not counted as an object-store error.

use axum::http::StatusCode;
use vault::domain::{NumeroUnique, OrgKind};

use crate::common::{TestApp, add_org_agent, doc_of};

#[tokio::test]
async fn a_real_piece_and_a_made_up_one_look_alike_to_a_caller_without_rights() {
    let app = TestApp::builder().build().await;
    let (artois, _) = add_org_agent(&app.vault, "620000018", OrgKind::Bailleur, false, None, &["62"]).await;
    let nu = app.register().await;
    let piece = app.upload_ok(&nu, &doc_of(1000, 3)).await;
    let made_up = uuid::Uuid::new_v4().to_string();
    for suffix in ["", "/original", "/rendition", "/thumbnail"] {
        let real = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}{suffix}"), &artois).await;
        let fake = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{made_up}{suffix}"), &artois).await;
        assert_eq!(real.status, StatusCode::FORBIDDEN, "{suffix}: {:?}", real.body);
        assert_eq!(real.status, fake.status, "{suffix}");
        assert_eq!(real.body, fake.body, "{suffix}: the bodies differ");
        // Not even a malformed id changes the answer.
        let junk = app.get(&format!("/api/v1/dossiers/{nu}/pieces/not-a-uuid{suffix}"), &artois).await;
        assert_eq!((junk.status, junk.body), (real.status, real.body), "{suffix}");
    }
    // Every one of those refusals is in the journal.
    let dossier = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap();
    let denied = |action: &'static str| {
        let db = app.vault.db().clone();
        async move { db.audit_count_with(dossier.id, action, "denied").await.unwrap() }
    };
    assert_eq!(denied("piece.read").await, 3);
    assert_eq!(denied("piece.read_original").await, 3);
    assert_eq!(denied("piece.read_rendition").await, 6, "rendition and thumbnail are decided as renditions");
    // Whoever may read the dossier does learn that a piece does not exist.
    let r = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{made_up}"), &app.guichet_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_intake_worker_that_cannot_run_is_an_internal_error_not_an_object_store_error() {
    let app = TestApp::builder().intake_exe("/nonexistent/dnu-vault".into()).build().await;
    let nu = app.register().await;
    let before = store_errors(&app).await;
    let r = app.upload(&nu, "ressources", &doc_of(1000, 4)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.body);
    assert_eq!(r.error_code(), "internal");
    assert!(!String::from_utf8_lossy(r.body.as_ref().unwrap()).contains("nonexistent"), "the cause stays in the log");
    assert_eq!(store_errors(&app).await, before, "the object store did nothing wrong");
}

/// `dnu_vault_object_store_errors_total` as `/metrics` shows it.
async fn store_errors(app: &TestApp) -> u64 {
    let text = String::from_utf8(app.get("/metrics", "").await.body.unwrap().to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("dnu_vault_object_store_errors_total "))
        .expect("the counter is exposed")
        .trim()
        .parse()
        .unwrap()
}

/// Probing numbers tells nothing: a number out of the caller's reach and a
/// number that names no dossier get the same answer (it was 403 against
/// 404), and issued numbers do not follow each other (they were
/// sequential, so one number gave its neighbours).
#[tokio::test]
async fn numbers_cannot_be_enumerated() {
    let app = TestApp::builder().build().await;
    let (artois, _) = add_org_agent(&app.vault, "620000018", OrgKind::Bailleur, false, None, &["62"]).await;
    let mut issued = Vec::new();
    for _ in 0..12 {
        issued.push(app.register().await);
    }
    let real = issued[0].clone();
    // Same territory, month and guichet, a sequence nobody was given.
    let missing = (1..).map(|s| format!("{}{s:06}{}", &real[..7], &real[13..])).find(|n| !issued.contains(n)).unwrap();
    let sequences: Vec<u32> = issued.iter().map(|nu| nu[7..13].parse().unwrap()).collect();
    for path in ["", "/audit", "/export.pdf"] {
        let a = app.get(&format!("/api/v1/dossiers/{real}{path}"), &artois).await;
        let b = app.get(&format!("/api/v1/dossiers/{missing}{path}"), &artois).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!((a.status, a.body), (b.status, b.body), "{path}: a real and a missing number answer alike");
    }
    let consecutive = sequences.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(consecutive < 3, "issued sequences follow each other: {sequences:?}");
}

/// The shared file's manager is never a registering service: the vault
/// refuses to create one (it would have read and exported every dossier of
/// its territory); `policies/tests/matrix.rs` shows such a row made before
/// gets no content either.
#[tokio::test]
async fn a_registering_gestionnaire_cannot_be_created() {
    let app = TestApp::builder().build().await;
    let new = vault::db::orgs::NewOrganisation {
        siren: vault::domain::Siren::parse("130000011").unwrap(),
        name: "Fichier partagé".into(),
        kind: OrgKind::Gestionnaire,
        registering: true,
        guichet_code: None,
        territory: vec![vault::domain::TerritoryCode::parse("59").unwrap()],
    };
    let err = app.vault.db().insert_organisation(&new).await.unwrap_err();
    assert!(matches!(err, vault::Error::Invalid(_)), "{err:?}");
    let ok = vault::db::orgs::NewOrganisation { registering: false, ..new };
    assert!(app.vault.db().insert_organisation(&ok).await.is_ok());
}

/// Reading a dossier's or a piece's metadata is traced (a bailleur used to
/// harvest file names, household members and fingerprints without a
/// trace): once per dossier, agent and day, and the applicant sees it.
#[tokio::test]
async fn metadata_reads_are_traced_once_a_day() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let piece = app.upload_ok(&nu, &doc_of(1200, 8)).await;
    let dossier = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.bailleur_token).await.status, StatusCode::OK);
        let p = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}"), &app.bailleur_token).await;
        assert_eq!(p.status, StatusCode::OK);
    }
    assert_eq!(app.vault.db().audit_count(dossier.id, "dossier.read").await.unwrap(), 1);
    assert_eq!(app.vault.db().audit_count(dossier.id, "piece.read").await.unwrap(), 1);
    // Another agent's read is its own line.
    app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await;
    assert_eq!(app.vault.db().audit_count(dossier.id, "dossier.read").await.unwrap(), 2);

    // The worklist shows numbers, statuses, communes and dates: each
    // dossier on it is traced once a day for the agent, the first time.
    let other = app.register().await;
    let other = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&other).unwrap()).await.unwrap().unwrap();
    for _ in 0..3 {
        let list = app.get("/api/v1/dossiers", &app.bailleur_token).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.json()["items"].as_array().unwrap().len(), 2);
    }
    for d in [dossier.id, other.id] {
        assert_eq!(app.vault.db().audit_count(d, "worklist.shown").await.unwrap(), 1);
    }
    let trace = app.vault.db().audit_of_dossier(other.id).await.unwrap();
    let shown = trace.iter().find(|e| e.fields[2].as_deref() == Some("worklist.shown")).unwrap();
    assert!(shown.fields[0].is_some(), "the agent is named: {shown:?}");
}

/// The once-a-day keys: the same day records nothing twice, the next day
/// records again, and forgetting the days before one leaves that day's
/// keys (what `serve` does each minute) so nothing is traced twice.
#[tokio::test]
async fn a_new_day_traces_again_and_past_days_are_forgotten() {
    use vault::{
        db::audit::AuditEvent,
        domain::{
            Purpose,
            journal::{Actor, Recorded},
        },
    };
    let app = TestApp::builder().build().await;
    let mut dossiers = Vec::new();
    for _ in 0..3 {
        let nu = app.register().await;
        dossiers.push(app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id);
    }
    let agent = uuid::Uuid::new_v4();
    let actor = Actor { agent: Some(agent), organisation: None, purpose: Purpose::Instruction };
    let event = AuditEvent::new(actor, Recorded::WorklistShown);
    let db = app.vault.db();
    let (monday, tuesday) = (1_764_547_200_000, 1_764_547_200_000 + 86_400_000);
    assert_eq!(db.record_once_each(&event, agent, &dossiers[..2], monday).await.unwrap(), 2);
    assert_eq!(db.record_once_each(&event, agent, &dossiers, monday).await.unwrap(), 1, "only the third is new");
    assert_eq!(db.record_once_each(&event, agent, &dossiers, monday).await.unwrap(), 0);
    // Another action, or another agent, is its own trace.
    let read = AuditEvent::new(actor, vault::auth::Action::DossierRead);
    assert_eq!(db.record_once_each(&read, agent, &dossiers[..1], monday).await.unwrap(), 1);
    let other = uuid::Uuid::new_v4();
    let theirs = AuditEvent::new(Actor { agent: Some(other), ..actor }, Recorded::WorklistShown);
    assert_eq!(db.record_once_each(&theirs, other, &dossiers[..1], monday).await.unwrap(), 1);
    assert_eq!(db.record_once_each(&event, agent, &dossiers[..2], tuesday).await.unwrap(), 2);

    assert_eq!(db.forget_daily_traces_before(tuesday).await.unwrap(), 5, "Monday's five keys");
    assert_eq!(db.record_once_each(&event, agent, &dossiers, tuesday).await.unwrap(), 1, "Tuesday's two are kept");
    for (d, n) in dossiers.iter().zip([3, 2, 2]) {
        assert_eq!(db.audit_count(*d, "worklist.shown").await.unwrap(), n, "every trace line is in the journal");
    }
}
