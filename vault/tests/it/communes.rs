//! Communes from the official geographic code: a demand names current
//! communes only, and an organisation whose territory is an EPCI reaches
//! the demands of its member communes, and no others.

use axum::http::StatusCode;
use serde_json::json;
use vault::domain::{OrgKind, geo};

use crate::common::{TestApp, add_org_agent};

#[tokio::test]
async fn a_demand_names_current_communes_and_an_epci_reaches_its_members() {
    let app = TestApp::builder().build().await;
    let (guichet, _) =
        add_org_agent(&app.vault, "213500010", OrgKind::Guichet, true, Some("NORPA"), &["59", "62"]).await;
    let r = app.post_json("/api/v1/dossiers", &guichet, json!({"communes": ["99999"]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.json()["error"]["message"].as_str().unwrap().contains("99999 is not a current commune"),
        "{:?}",
        r.json()
    );

    let register = |commune: &'static str| {
        let (app, guichet) = (&app, guichet.clone());
        async move {
            let r = app.post_json("/api/v1/dossiers", &guichet, json!({"communes": [commune]})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.json()["numero_unique"].as_str().unwrap().to_owned()
        }
    };
    let coudekerque = register("59155").await;
    let calais = register("62193").await;

    // The Communauté urbaine de Dunkerque, given by its SIREN, stands for
    // its member communes.
    let members: Vec<String> = geo::territory("245900428").unwrap().iter().map(|t| t.as_str().to_owned()).collect();
    assert!(members.contains(&"59155".to_owned()) && !members.contains(&"62193".to_owned()));
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let (bailleur, _) = add_org_agent(&app.vault, "390000016", OrgKind::Bailleur, false, None, &members).await;
    let r = app.get(&format!("/api/v1/dossiers/{coudekerque}"), &bailleur).await;
    assert_eq!(r.status, StatusCode::OK, "a member commune's demand is within reach");
    let r = app.get(&format!("/api/v1/dossiers/{calais}"), &bailleur).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "Calais is not in the EPCI");
    let list = app.get("/api/v1/dossiers", &bailleur).await.json();
    let listed: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|i| i["numero_unique"].as_str().unwrap()).collect();
    assert_eq!(listed, [coudekerque.as_str()]);
}
