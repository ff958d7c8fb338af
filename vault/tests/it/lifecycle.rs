//! Renewal and radiation: who may, what changes, what is traced, and what a
//! radiated dossier still allows.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, databases, doc_of, multipart};

fn in_a_year() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let d = today.replace_year(today.year() + 1).unwrap_or(today);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn renew_and_radiate_follow_the_policy_and_are_traced() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let bailleur_seen = app.get(&format!("/api/v1/dossiers/{nu}"), &app.bailleur_token).await;
        assert_eq!(bailleur_seen.status, StatusCode::OK);

        // Only registering services renew and radiate.
        let r = app.post_json(&format!("/api/v1/dossiers/{nu}/renew"), &app.bailleur_token, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.post_json(&format!("/api/v1/dossiers/{nu}/renew"), &app.guichet_token, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.json()["valid_until"], in_a_year().as_str());
        assert_eq!(r.json()["status"], "active");

        // Radiation needs one reason from the closed list.
        let url = format!("/api/v1/dossiers/{nu}/radiate");
        let r = app.post_json(&url, &app.guichet_token, json!({"reason": "il a déménagé chez M. Martin"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("attribution"));
        let r = app.post_json(&url, &app.guichet_token, json!({"motif": "attribution"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = app.post_json(&url, &app.bailleur_token, json!({"reason": "attribution"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.post_json(&url, &app.guichet_token, json!({"reason": "attribution"})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let d = r.json();
        assert_eq!((d["status"].as_str(), d["radiation_reason"].as_str()), (Some("radiated"), Some("attribution")));
        assert_eq!(d["purge_on"], in_a_year().as_str(), "purged one year after radiation");

        // Radiated: frozen, and out of the partners' reach; the registering
        // service still reads it.
        let r = app.post_json(&url, &app.guichet_token, json!({"reason": "renonciation"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Renewing a radiated demand is a conflict, said to those who may
        // read it; the others learn nothing more than a 403.
        let r = app.post_json(&format!("/api/v1/dossiers/{nu}/renew"), &app.guichet_token, json!({})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("radiated"));
        let r = app.post_json(&format!("/api/v1/dossiers/{nu}/renew"), &app.bailleur_token, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let up = app
            .post_multipart(
                &format!("/api/v1/dossiers/{nu}/pieces"),
                &app.guichet_token,
                multipart(&[("kind", "ressources")], Some(&doc_of(1000, 4))),
            )
            .await;
        assert_eq!(up.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.bailleur_token).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.status, StatusCode::OK);
        let list = app.get("/api/v1/dossiers?status=radiated", &app.guichet_token).await.json();
        assert_eq!(list["items"][0]["numero_unique"], nu.as_str());
        assert!(app.get("/api/v1/dossiers", &app.bailleur_token).await.json()["items"].as_array().unwrap().is_empty());

        // Both changes are in the journal, with their finality.
        let id =
            app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        assert_eq!(app.vault.db().audit_count(id, "dossier.renew").await.unwrap(), 1);
        assert_eq!(app.vault.db().audit_count(id, "dossier.radiate").await.unwrap(), 1);
        assert_eq!(app.vault.db().audit_count_with(id, "dossier.radiate", "denied").await.unwrap(), 2);
    }
}

#[tokio::test]
async fn radiation_follows_the_six_reasons_and_their_month() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
        let j = r.json();
        let nu = j["numero_unique"].as_str().unwrap().to_owned();
        let creds = json!({"identifier": j["applicant"]["identifier"], "code": j["applicant"]["code"]});
        let (radiate, warn) =
            (format!("/api/v1/dossiers/{nu}/radiate"), format!("/api/v1/dossiers/{nu}/radiation-warnings"));
        let today = vault::clock::today();
        let in_a_month = vault::clock::iso_date(vault::clock::one_month_after(today));

        // The law has no "other" reason; the 422 lists the six.
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "autre"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        for six in ["attribution", "renonciation", "sans_reponse", "irrecevabilite", "non_renouvellement", "fusion"] {
            assert!(message.contains(six), "{message}");
        }
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "fusion"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a merge, not a radiation by hand");
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "non_renouvellement"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "a valid demand has not lapsed");
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("valid until"));
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "irrecevabilite"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("warn the applicant first"));

        // Warnings: only (c) and (d), only by who may radiate; the month
        // runs from the first one.
        let r = app.post_json(&warn, &app.guichet_token, json!({"reason": "attribution"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app.post_json(&warn, &app.bailleur_token, json!({"reason": "sans_reponse"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.post_json(&warn, &app.guichet_token, json!({"reason": "sans_reponse"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.json()["radiation_possible_on"], in_a_month.as_str());
        let again = app.post_json(&warn, &app.guichet_token, json!({"reason": "sans_reponse"})).await;
        assert_eq!((again.status, again.json()["warned_on"].clone()), (StatusCode::OK, r.json()["warned_on"].clone()));
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "sans_reponse"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(&format!("possible from {in_a_month}")));

        // The applicant answers (signs in): the (c) warning no longer stands.
        assert_eq!(app.post_json("/api/v1/session", "", creds).await.status, StatusCode::OK);
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "sans_reponse"})).await;
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("warn the applicant first"), "{:?}", r.json());

        // A (d) warning given 40 days ago: the radiation goes through.
        let id =
            app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        let guichet = app.vault.db().agent(app.guichet_agent).await.unwrap().unwrap().organisation_id;
        let back = today - time::Duration::days(40);
        let reason = vault::domain::RadiationReason::Irrecevabilite;
        app.vault.db().warn_radiation(id, reason, back, app.guichet_actor(guichet)).await.unwrap();
        let r = app.post_json(&radiate, &app.guichet_token, json!({"reason": "irrecevabilite"})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.json()["radiation_reason"], "irrecevabilite");
        assert_eq!(app.vault.db().audit_count(id, "dossier.radiation_warning").await.unwrap(), 2);
    }
}

#[tokio::test]
async fn purge_erases_a_dossier_a_year_after_its_radiation() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        // With a declared situation: its rows go with the dossier too.
        let body = json!({"communes": ["59183"], "expected": ["ressources", "avis_imposition_n2"]});
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, body).await;
        let nu = r.json()["numero_unique"].as_str().unwrap().to_owned();
        let identifier = r.json()["applicant"]["identifier"].as_str().unwrap().to_owned();
        let marker = "MARQUEUR-PURGE-7731";
        let up = app
            .post_multipart(
                &format!("/api/v1/dossiers/{nu}/pieces"),
                &app.guichet_token,
                crate::common::multipart_named(
                    &[("kind", "ressources")],
                    &format!("{marker}.pdf"),
                    Some(&doc_of(3000, 8)),
                ),
            )
            .await;
        assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
        let kept = app.register().await;
        app.upload_ok(&kept, &doc_of(2000, 9)).await;
        let r = app
            .post_json(&format!("/api/v1/dossiers/{nu}/radiate"), &app.guichet_token, json!({"reason": "attribution"}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let purge_on = r.json()["purge_on"].as_str().unwrap().to_owned();
        let id =
            app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        let objects_of = |listed: &[vault::store::Listed], d: uuid::Uuid| {
            listed
                .iter()
                .filter(|o| matches!(o.key, vault::store::ObjectKey::Dossier { dossier, .. } if dossier == d))
                .count()
        };
        assert!(objects_of(&app.vault.store().list().await.unwrap(), id) >= 2, "original and rendition");
        assert_eq!(app.vault.db().expected_kinds_of(id).await.unwrap().len(), 2);

        // Not before its day; a dry run erases nothing.
        let today = vault::clock::today();
        let day_before = vault::clock::parse_iso_date(&purge_on).unwrap() - time::Duration::days(1);
        assert_eq!(vault::jobs::purge::purge(&app.vault, day_before, false).await.unwrap().due, 0);
        let on = vault::clock::parse_iso_date(&purge_on).unwrap();
        let dry = vault::jobs::purge::purge(&app.vault, on, true).await.unwrap();
        assert_eq!((dry.due, dry.purged, dry.dossiers.as_slice()), (1, 0, &[id][..]));
        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.status, StatusCode::OK);

        let done = vault::jobs::purge::purge(&app.vault, on, false).await.unwrap();
        assert_eq!((done.due, done.purged), (1, 1));
        assert!(done.objects >= 2);
        let listed = app.vault.store().list().await.unwrap();
        assert_eq!(objects_of(&listed, id), 0, "no object of the purged dossier is left");
        assert!(app.vault.db().expected_kinds_of(id).await.unwrap().is_empty(), "nor its declared situation");
        let other = app
            .vault
            .db()
            .dossier_by_nu(&vault::domain::NumeroUnique::parse(&kept).unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        assert!(objects_of(&listed, other) >= 1, "the other dossier is untouched");
        let gone = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await;
        assert_eq!(gone.status, StatusCode::GONE);
        assert!(gone.json()["error"]["message"].as_str().unwrap().contains(&vault::clock::iso_date(on)));
        assert_eq!(app.get(&format!("/api/v1/dossiers/{kept}"), &app.guichet_token).await.status, StatusCode::OK);
        // The agents' page says so in French.
        let page = app
            .send(
                axum::http::Request::post("/agent/connexion")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(format!("token={}", app.guichet_token)))
                    .unwrap(),
            )
            .await;
        let cookie = page.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let shown = app
            .send(
                axum::http::Request::get(format!("/dossiers/{nu}"))
                    .header("cookie", &cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(shown.status, StatusCode::GONE);
        let text = String::from_utf8_lossy(shown.body.as_ref().unwrap()).into_owned();
        assert!(text.contains(&format!("effacé le {}", vault::web::fr::date(on))), "{text}");
        // The applicant's credentials went with it.
        let creds = json!({"identifier": identifier, "code": "ANYTHING22"});
        assert_eq!(app.post_json("/api/v1/session", "", creds).await.status, StatusCode::UNAUTHORIZED);
        // Done once: a second run finds nothing; the journal and the store still verify.
        assert_eq!(
            vault::jobs::purge::purge(&app.vault, today + time::Duration::days(800), false).await.unwrap().due,
            0
        );
        assert_eq!(app.vault.db().audit_count(id, "dossier.purge").await.unwrap(), 1);
        assert!(vault::audit::verify(&app.vault).await.unwrap().is_clean());
        assert!(vault::jobs::check::check(&app.vault, true, |_, _| {}).await.unwrap().is_clean());
        if db == crate::common::DbKind::Sqlite {
            // The database and its write-ahead log: no byte of the
            // applicant's identifier or of the piece's name is left.
            for name in ["vault.db", "vault.db-wal"] {
                let file = std::fs::read(app.dir.path().join(name)).unwrap_or_default();
                for needle in [marker.as_bytes(), identifier.as_bytes()] {
                    assert!(
                        !file.windows(needle.len()).any(|w| w == needle),
                        "{} left in {name}",
                        String::from_utf8_lossy(needle)
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_guichet_lists_the_demands_to_chase_before_they_lapse() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let soon = app.register().await;
        let later = app.register().await;
        let radiated = app.register().await;
        // Deposited 11 months ago: valid 20 more days; another one valid a year.
        let today = vault::clock::today();
        for (nu, until) in [(&soon, today + time::Duration::days(20)), (&radiated, today + time::Duration::days(5))] {
            let id = app
                .vault
                .db()
                .dossier_by_nu(&vault::domain::NumeroUnique::parse(nu).unwrap())
                .await
                .unwrap()
                .unwrap()
                .id;
            let guichet = app.vault.db().agent(app.guichet_agent).await.unwrap().unwrap().organisation_id;
            let changed = app
                .vault
                .db()
                .change_lifecycle(
                    id,
                    vault::db::dossiers::Lifecycle::Renew { valid_until: until },
                    app.guichet_actor(guichet),
                )
                .await
                .unwrap();
            assert!(changed);
        }
        let r = app
            .post_json(
                &format!("/api/v1/dossiers/{radiated}/radiate"),
                &app.guichet_token,
                json!({"reason": "renonciation"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);

        let due = app.get("/api/v1/dossiers?due=renewal", &app.guichet_token).await;
        assert_eq!(due.status, StatusCode::OK, "{:?}", due.body);
        let items = due.json()["items"].as_array().unwrap().clone();
        let numbers: Vec<&str> = items.iter().map(|i| i["numero_unique"].as_str().unwrap()).collect();
        assert_eq!(
            numbers,
            [soon.as_str()],
            "only the active demand lapsing within 31 days, not {later} nor the radiated one"
        );
        assert_eq!(items[0]["valid_until"], vault::clock::iso_date(today + time::Duration::days(20)).as_str());
        // Only an organisation that registers demands has such a list.
        let r = app.get("/api/v1/dossiers?due=renewal", &app.bailleur_token).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app.get("/api/v1/dossiers?due=tomorrow", &app.guichet_token).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn the_applicant_renews_their_own_demand() {
    let app = TestApp::builder().build().await;
    let (nu, token) = app.register_signed_in().await;
    let (other, _) = app.register_signed_in().await;
    let r = app.post_json(&format!("/api/v1/dossiers/{other}/renew"), &token, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not another applicant's demand");

    // A month before expiry the page offers the renewal.
    let id = app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
    let guichet = app.vault.db().agent(app.guichet_agent).await.unwrap().unwrap().organisation_id;
    let soon = vault::clock::today() + time::Duration::days(10);
    let renew = vault::db::dossiers::Lifecycle::Renew { valid_until: soon };
    assert!(app.vault.db().change_lifecycle(id, renew, app.guichet_actor(guichet)).await.unwrap());
    let cookie = format!("__Host-dnu_session={token}");
    let get = |path: &str| {
        axum::http::Request::get(path.to_owned()).header("cookie", &cookie).body(axum::body::Body::empty()).unwrap()
    };
    let page = String::from_utf8_lossy(app.send(get("/mon-dossier")).await.body.as_ref().unwrap()).into_owned();
    assert!(page.contains("Renouveler ma demande"), "{page}");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let done = app
        .send(
            axum::http::Request::post("/mon-dossier/renouveler")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(format!("csrf={csrf}")))
                .unwrap(),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.headers["location"], "/mon-dossier?renouvelee=1");
    let page =
        String::from_utf8_lossy(app.send(get("/mon-dossier?renouvelee=1")).await.body.as_ref().unwrap()).into_owned();
    assert!(page.contains("Votre demande est renouvelée pour un an."));
    assert!(!page.contains("arrive à échéance"), "renewed: nothing to chase");
    let d = app.vault.db().dossier_by_id(id).await.unwrap().unwrap();
    assert!(d.valid_until >= vault::clock::today() + time::Duration::days(365), "valid a year from today");
    // Traced as the applicant's own act.
    assert_eq!(app.vault.db().audit_count(id, "dossier.renew").await.unwrap(), 2);
}
