//! Explicit grants: they open reading one dossier to an organisation off its
//! territory; revoked or expired, they give nothing, and the refusal says why.

use axum::http::StatusCode;
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use vault::domain::{NumeroUnique, OrgKind};

use crate::common::{TestApp, add_org_agent, databases, doc_of};

fn in_hours(h: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::hours(h)).format(&Rfc3339).unwrap()
}

#[tokio::test]
async fn grants_open_revoke_and_expire() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let (artois, _) = add_org_agent(&app.vault, "620000018", OrgKind::Bailleur, false, None, &["62"]).await;
        let nu = app.register().await;
        let piece = app.upload_ok(&nu, &doc_of(1000, 1)).await;
        let dossier = format!("/api/v1/dossiers/{nu}");
        let grants = format!("{dossier}/grants");

        assert_eq!(app.get(&dossier, &artois).await.status, StatusCode::FORBIDDEN);
        let r = app
            .post_json(
                &grants,
                &artois,
                json!({"organisation": "620000018", "purpose": "attribution", "expires_at": in_hours(1)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a partner cannot grant itself access");

        let r = app
            .post_json(
                &grants,
                &app.guichet_token,
                json!({"organisation": "620000018", "purpose": "attribution", "note": "CAL du 12 décembre", "expires_at": in_hours(24)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let grant_id = r.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(r.json()["active"], true);
        assert_eq!(app.get(&dossier, &artois).await.status, StatusCode::OK, "the grant opens the dossier");
        // Decided, and traced, under the grant's purpose.
        let purposes: Vec<Option<String>> =
            sqlx::query_scalar("SELECT purpose FROM audit_events WHERE action = 'dossier.read' AND outcome = 'ok'")
                .fetch_all(app.vault.db().pool())
                .await
                .unwrap();
        assert_eq!(purposes, [Some("attribution".to_owned())]);
        // Red-team finding 7: for its purpose only.
        let as_dalo = app
            .send(
                axum::http::Request::get(&dossier)
                    .header("authorization", format!("Bearer {artois}"))
                    .header("x-vault-purpose", "dalo")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(as_dalo.status, StatusCode::FORBIDDEN, "a grant for a CAL read for a DALO file");
        // The journal names the organisation the dossier was opened to.
        let grantee: Option<String> =
            sqlx::query_scalar("SELECT grantee FROM audit_events WHERE action = 'grant.create'")
                .fetch_one(app.vault.db().pool())
                .await
                .unwrap();
        let org = app
            .vault
            .db()
            .organisation_by_siren(&vault::domain::Siren::parse("620000018").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grantee, Some(org.id.to_string()));
        let r = app.get(&format!("{dossier}/pieces/{piece}/original"), &artois).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a grant opens renditions, not originals");
        let list = app.get(&grants, &app.guichet_token).await.json();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["organisation"]["siren"], "620000018");

        let revoke = app
            .send(
                axum::http::Request::delete(format!("{grants}/{grant_id}"))
                    .header("authorization", format!("Bearer {}", app.guichet_token))
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(revoke.status, StatusCode::NO_CONTENT);
        let r = app.get(&dossier, &artois).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (StatusCode::FORBIDDEN, "grant_revoked"),
            "revocation applies at once"
        );

        // An expired grant (written directly: the API refuses past dates).
        let id = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        let now = vault::clock::now_ms() / 1000;
        app.vault
            .db()
            .insert_grant(id, org.id, vault::domain::Purpose::Attribution, None, now - 1, app.guichet_actor(org.id))
            .await
            .unwrap();
        let r = app.get(&dossier, &artois).await;
        assert_eq!((r.status, r.error_code().as_str()), (StatusCode::FORBIDDEN, "grant_expired"));

        // Bad input names the field.
        for (body, field) in [
            (json!({"organisation": "620000018", "purpose": "attribution", "expires_at": in_hours(-1)}), "expires_at"),
            (
                json!({"organisation": "620000018", "purpose": "attribution", "expires_at": in_hours(24 * 400)}),
                "expires_at",
            ),
            (json!({"organisation": "620000018", "purpose": "attribution", "expires_at": "tomorrow"}), "expires_at"),
            (json!({"organisation": "180020026", "purpose": "attribution", "expires_at": in_hours(1)}), "organisation"),
            (json!({"organisation": "620000018", "purpose": " ", "expires_at": in_hours(1)}), "purpose"),
            (json!({"organisation": "620000018", "purpose": "CAL du 3 mai", "expires_at": in_hours(1)}), "purpose"),
            (json!({"organisation": "620000018", "purpose": "enregistrement", "expires_at": in_hours(1)}), "purpose"),
        ] {
            let r = app.post_json(&grants, &app.guichet_token, body).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.json()["error"]["message"].as_str().unwrap().starts_with(field), "{}", r.json());
        }
        assert_eq!(app.vault.db().audit_count(id, "grant.create").await.unwrap(), 2);
        assert_eq!(app.vault.db().audit_count(id, "grant.revoke").await.unwrap(), 1);
        // Every refusal above left a trace: four reads (one for another purpose), one self-grant, one original.
        assert_eq!(app.vault.db().audit_count_with(id, "dossier.read", "denied").await.unwrap(), 4);
        assert_eq!(app.vault.db().audit_count_with(id, "grant.manage", "denied").await.unwrap(), 1);
        assert_eq!(app.vault.db().audit_count_with(id, "piece.read_original", "denied").await.unwrap(), 1);
    }
}

/// The applicant reads their dossier's grants (who else may read it, why
/// and until when): it answered 403. Another applicant still may not.
#[tokio::test]
async fn the_applicant_reads_the_grants_of_their_dossier() {
    let app = TestApp::builder().build().await;
    let session = |j: serde_json::Value| {
        let app = &app;
        async move {
            let body = json!({"identifier": j["applicant"]["identifier"], "code": j["applicant"]["code"]});
            app.post_json("/api/v1/session", "", body).await.json()["token"].as_str().unwrap().to_owned()
        }
    };
    let mine = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await.json();
    let other = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await.json();
    let nu = mine["numero_unique"].as_str().unwrap().to_owned();
    let (token, stranger) = (session(mine).await, session(other).await);
    let grants = format!("/api/v1/dossiers/{nu}/grants");
    let body = json!({"organisation": "590000014", "purpose": "attribution", "note": "CAL du 12 décembre", "expires_at": in_hours(24)});
    assert_eq!(app.post_json(&grants, &app.guichet_token, body).await.status, StatusCode::CREATED);
    let list = app.get(&grants, &token).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(
        (list.json()[0]["purpose"].as_str(), list.json()[0]["note"].as_str()),
        (Some("attribution"), Some("CAL du 12 décembre"))
    );
    assert_eq!(app.get(&grants, &stranger).await.status, StatusCode::FORBIDDEN);
    // Their trace says to whom the guichet opened the dossier.
    let trace = app.get(&format!("/api/v1/dossiers/{nu}/audit"), &token).await.json();
    let created = trace.as_array().unwrap().iter().find(|e| e["action"] == "grant.create").unwrap();
    assert_eq!(created["grantee"]["siren"], "590000014", "{created}");
    // Reading is not managing: the applicant grants nothing.
    let body = json!({"organisation": "590000014", "purpose": "attribution", "expires_at": in_hours(1)});
    assert_eq!(app.post_json(&grants, &token, body).await.status, StatusCode::FORBIDDEN);
}

/// The grant read with the dossier, in the same statement, is the one
/// `grant_for` picks: none; a live one beside a later revoked one; the
/// latest dead one when none lives; never another organisation's.
#[tokio::test]
async fn the_grant_read_with_the_dossier_is_the_one_that_decides() {
    use vault::{
        db::orgs::NewOrganisation,
        domain::{Purpose, Siren, TerritoryCode},
    };
    let app = TestApp::builder().build().await;
    let db = app.vault.db();
    let nu = NumeroUnique::parse(&app.register().await).unwrap();
    let mut orgs = Vec::new();
    for (siren, dep) in [("620000018", "62"), ("800000010", "80")] {
        let org = db
            .insert_organisation(&NewOrganisation {
                siren: Siren::parse(siren).unwrap(),
                name: format!("bailleur {dep}"),
                kind: OrgKind::Bailleur,
                registering: false,
                guichet_code: None,
                territory: vec![TerritoryCode::parse(dep).unwrap()],
            })
            .await
            .unwrap();
        orgs.push(org.id);
    }
    let (a, b) = (orgs[0], orgs[1]);
    let id = db.dossier_by_nu(&nu).await.unwrap().unwrap().id;
    let now = vault::clock::now_s();
    let by = app.guichet_actor(a);
    let nu = &nu;
    let read = |org| async move {
        let (dossier, with) = db.dossier_by_nu_with_grant(nu, org, now).await.unwrap().unwrap();
        assert_eq!(dossier.id, id);
        assert_eq!(with, db.grant_for(id, org, now).await.unwrap(), "the same grant decides");
        with.map(|g| (g.id, g.revoked))
    };
    assert_eq!(read(a).await, None);

    let live = db.insert_grant(id, a, Purpose::Attribution, None, now + 3600, by).await.unwrap();
    let later = db.insert_grant(id, a, Purpose::Instruction, None, now + 3600, by).await.unwrap();
    assert!(db.revoke_grant(id, later.id, by).await.unwrap());
    assert_eq!(read(a).await, Some((live.id, false)), "the live one, not the later revoked one");
    assert_eq!(read(b).await, None, "another organisation's grants are not this one's");

    assert!(db.revoke_grant(id, live.id, by).await.unwrap());
    let dead = read(a).await.unwrap();
    assert!(dead.1, "none lives: the latest dead one, to say why");
}
