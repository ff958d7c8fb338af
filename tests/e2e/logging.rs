//! The request span over the real binary: a log line emitted deep inside an
//! upload carries the id the answer's `X-Request-Id` shows, and a client's
//! own id is kept only when the operator trusts the proxy that sets it.

use std::time::Duration;

use e2e::{Api, Server, demo, doc_of};
use serde_json::Value;

/// The JSON log lines of the server whose message is `message`.
fn lines_with(server: &Server, message: &str) -> Vec<Value> {
    server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message)
        .collect()
}

#[tokio::test]
async fn a_log_line_inside_an_upload_names_the_request_the_answer_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let server = Server::start(dir.path(), &[("VAULT_LOG_FORMAT", "json")]);
    let resp = Api::new(&server, &token).upload(&nu, "ressources", &doc_of(60_000, 9)).await.unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let mut found = Vec::new();
    for _ in 0..50 {
        found = lines_with(&server, "piece uploaded");
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = found.first().unwrap_or_else(|| panic!("no upload line in:\n{}", server.log()));
    assert_eq!(line["span"]["request.id"], id.as_str(), "{line}");
    assert_eq!(line["span"]["http.route"], "/api/v1/dossiers/{nu}/pieces", "{line}");
    assert_eq!(line["span"]["http.method"], "POST", "{line}");
    // The route is a template: the numéro unique is in no log line.
    assert!(!server.log().contains(&nu));

    // A client's own id is not trusted by default…
    let http = reqwest::Client::new();
    let r = http.get(server.url("/healthz")).header("x-request-id", "client-chosen").send().await.unwrap();
    assert_ne!(r.headers()["x-request-id"], "client-chosen");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("VAULT_TRUST_REQUEST_ID", "true")]);
    let http = reqwest::Client::new();
    let r = http.get(server.url("/healthz")).header("x-request-id", "proxy-7f3a.1").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-7f3a.1");
    // …but not with words of its own choosing in the logs.
    let r = http.get(server.url("/healthz")).header("x-request-id", "a b\"c").send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 16, "{id}");
}
