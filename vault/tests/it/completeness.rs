//! Completeness through the API, on both databases: the pieces a situation
//! calls for, declared at registration or later; the status the dossier
//! shows, the worklist lists and filters on; an expired or flagged piece
//! turning a complete dossier back to incomplete.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, databases, doc_of, multipart};

fn states(dossier: &Value) -> Vec<(String, String)> {
    dossier["completeness"]["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["state"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

async fn upload(app: &TestApp, nu: &str, kind: &str, valid_until: Option<&str>, seed: u8) -> String {
    let mut fields = vec![("kind", kind)];
    if let Some(v) = valid_until {
        fields.push(("valid_until", v));
    }
    let r = app
        .post_multipart(
            &format!("/api/v1/dossiers/{nu}/pieces"),
            &app.guichet_token,
            multipart(&fields, Some(&doc_of(900, seed))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.json()["piece"]["id"].as_str().unwrap().to_owned()
}

async fn show(app: &TestApp, nu: &str) -> Value {
    let r = app.get(&format!("/api/v1/dossiers/{nu}"), &app.bailleur_token).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

async fn worklist(app: &TestApp, completeness: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/dossiers?completeness={completeness}&limit=500"), &app.bailleur_token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.json()["items"].as_array().unwrap().iter().map(|i| i["numero_unique"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_dossier_is_complete_when_every_called_for_piece_counts() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        // The guichet declares a tax notice and resources at registration.
        let body = json!({"communes": ["59183"], "expected": ["avis_imposition_n2", "ressources", "identite"]});
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let nu = r.json()["numero_unique"].as_str().unwrap().to_owned();
        assert_eq!(r.json()["completeness"]["status"], "incomplete");
        // Another dossier, identity only, for the filter.
        let other = app.register().await;

        let d = show(&app, &nu).await;
        assert_eq!(d["completeness"]["status"], "incomplete");
        assert_eq!(
            states(&d),
            pairs(&[("identite", "missing"), ("avis_imposition_n2", "missing"), ("ressources", "missing")]),
            "identity first, each kind once"
        );

        upload(&app, &nu, "identite", Some("2031-05-01"), 1).await;
        upload(&app, &nu, "avis_imposition_n2", None, 2).await;
        let d = show(&app, &nu).await;
        assert_eq!(d["completeness"]["status"], "incomplete");
        assert_eq!(states(&d)[2], ("ressources".to_owned(), "missing".to_owned()));
        assert_eq!(worklist(&app, "incomplete").await, {
            let mut v = vec![nu.clone(), other.clone()];
            v.sort();
            v
        });

        let pay = upload(&app, &nu, "ressources", None, 3).await;
        let d = show(&app, &nu).await;
        assert_eq!(d["completeness"]["status"], "complete", "{}", d["completeness"]);
        assert_eq!(worklist(&app, "complete").await, std::slice::from_ref(&nu));
        assert_eq!(worklist(&app, "incomplete").await, std::slice::from_ref(&other));
        let listed = app.get("/api/v1/dossiers", &app.bailleur_token).await.json();
        let item =
            listed["items"].as_array().unwrap().iter().find(|i| i["numero_unique"] == nu.as_str()).unwrap().clone();
        assert_eq!(item["completeness"], "complete");

        // A flagged version makes it incomplete until a new one comes.
        let mark = json!({"mark": "inexploitable", "reason": "illisible"});
        let r = app
            .post_json(&format!("/api/v1/dossiers/{nu}/pieces/{pay}/versions/1/mark"), &app.guichet_token, mark)
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        let d = show(&app, &nu).await;
        assert_eq!((d["completeness"]["status"].as_str(), states(&d)[2].1.as_str()), (Some("incomplete"), "flagged"));
        assert_eq!(worklist(&app, "complete").await, Vec::<String>::new());

        // A new situation: resources no longer called for; complete again.
        let r = app
            .put_json(
                &format!("/api/v1/dossiers/{nu}/expected"),
                &app.guichet_token,
                json!({"kinds": ["avis_imposition_n2"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.json()["status"], "complete");
        assert_eq!(worklist(&app, "complete").await, std::slice::from_ref(&nu));

        // An identity piece whose date has passed: incomplete, in the list too.
        upload(&app, &other, "identite", Some("2020-01-31"), 4).await;
        let d = show(&app, &other).await;
        assert_eq!((d["completeness"]["status"].as_str(), states(&d)[0].1.as_str()), (Some("incomplete"), "expired"));
        assert_eq!(worklist(&app, "incomplete").await, std::slice::from_ref(&other));

        // What may not be declared, and who may not.
        let r = app
            .put_json(
                &format!("/api/v1/dossiers/{nu}/expected"),
                &app.guichet_token,
                json!({"kinds": ["carte_vitale"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        let r =
            app.put_json(&format!("/api/v1/dossiers/{nu}/expected"), &app.bailleur_token, json!({"kinds": []})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a bailleur reads the dossier but does not declare the situation");
        let r = app.get("/api/v1/dossiers?completeness=almost", &app.bailleur_token).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
