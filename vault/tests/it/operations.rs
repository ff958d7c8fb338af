//! Operations endpoints: `/metrics` read by the reference Prometheus
//! parser, `/api/openapi.json` checked by `openapi-spec-validator`, and the
//! document against what the router really serves.

use std::process::Command;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::Value;

use crate::common::{TestApp, doc_of};

/// Runs a Python snippet with tools we did not write (PyPI packages
/// `prometheus-client`, `openapi-spec-validator`; `tests/run.sh` installs them).
fn python(script: &str, arg: &std::path::Path) -> String {
    let out = Command::new("python3").arg("-c").arg(script).arg(arg).output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "a Python checker is missing ({stderr}); install it with: pip install prometheus-client openapi-spec-validator (tests/run.sh does)"
    );
    assert!(out.status.success(), "python check failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PARSE_METRICS: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        out.setdefault(s.name, []).append({"labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

fn sample(parsed: &Value, name: &str, labels: &[(&str, &str)]) -> f64 {
    parsed[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} missing"))
        .iter()
        .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn metrics_parse_with_the_reference_parser_and_count_what_happened() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let upload = doc_of(40_000, 7);
    app.upload_ok(&nu, &upload).await;
    // A refusal by the access policy: a bailleur does not register dossiers.
    let denied =
        app.post_json("/api/v1/dossiers", &app.bailleur_token, serde_json::json!({"communes": ["59183"]})).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{:?}", denied.body);
    let r = app.get("/metrics", "").await;
    assert_eq!(r.status, StatusCode::OK);
    let file = app.dir.path().join("metrics.txt");
    std::fs::write(&file, r.body.as_ref().unwrap()).unwrap();
    let parsed: Value = serde_json::from_str(&python(PARSE_METRICS, &file)).unwrap();

    let route = [("route", "/api/v1/dossiers/{nu}/pieces"), ("method", "POST"), ("status", "201")];
    assert!(sample(&parsed, "dnu_vault_http_requests_total", &route) >= 1.0);
    let inf = [route[0], route[1], route[2], ("le", "+Inf")];
    assert!(sample(&parsed, "dnu_vault_http_request_duration_seconds_bucket", &inf) >= 1.0);
    assert!(sample(&parsed, "dnu_vault_http_request_duration_seconds_sum", &route) > 0.0);
    let forbidden = [("route", "/api/v1/dossiers"), ("method", "POST"), ("status", "403")];
    assert!(sample(&parsed, "dnu_vault_http_requests_total", &forbidden) >= 1.0);
    // The registry is process-wide (other tests add to it): lower bounds.
    assert!(sample(&parsed, "dnu_vault_http_request_bytes_total", &[]) >= upload.len() as f64);
    assert!(sample(&parsed, "dnu_vault_policy_denials_total", &[]) >= 1.0);
    for name in [
        "dnu_vault_http_response_bytes_total",
        "dnu_vault_integrity_failures_total",
        "dnu_vault_intake_worker_crashes_total",
        "dnu_vault_intake_worker_timeouts_total",
        "dnu_vault_database_errors_total",
        "dnu_vault_object_store_errors_total",
        "dnu_vault_audit_checkpoint_age_seconds",
    ] {
        assert!(parsed.get(name).is_some(), "{name} missing from /metrics");
    }
    // Labels carry route templates, never a numéro unique.
    assert!(!String::from_utf8_lossy(r.body.as_ref().unwrap()).contains(&nu));
}

/// Methods a client makes up do not become new series: 300 requests with
/// 300 invented methods grew `/metrics` from 13 KB to 10.7 MB before they
/// were counted as `other`.
#[tokio::test]
async fn invented_http_methods_count_as_other() {
    let app = TestApp::builder().build().await;
    for i in 0..300 {
        let method = axum::http::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let req =
            axum::http::Request::builder().method(method).uri("/api/v1/catalogue").body(axum::body::Body::empty());
        let r = app.send(req.unwrap()).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let text = String::from_utf8(app.get("/metrics", "").await.body.unwrap().to_vec()).unwrap();
    assert!(!text.contains("INVENTED"), "an invented method became a label");
    assert!(text.contains("method=\"other\",status=\"405\""), "they are counted, as `other`");
}

/// Fills a route template's parameters with plausible values.
fn concrete(path: &str, nu: &str, piece: &str) -> String {
    path.replace("{nu}", nu).replace("{piece}", piece).replace("{id}", &uuid::Uuid::new_v4().to_string())
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_lists_exactly_the_routes_served() {
    let app = TestApp::builder().build().await;
    let r = app.get("/api/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, r.body.as_ref().unwrap()).unwrap();
    python(
        "import sys; from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; validate(read_from_filename(sys.argv[1])[0])",
        &file,
    );

    let doc = r.json();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    // The contract's routes (DESIGN §6) are all there.
    for (m, p) in [
        ("POST", "/api/v1/dossiers"),
        ("GET", "/api/v1/dossiers"),
        ("GET", "/api/v1/dossiers/{nu}"),
        ("POST", "/api/v1/dossiers/{nu}/pieces"),
        ("GET", "/api/v1/dossiers/{nu}/pieces/{piece}"),
        ("GET", "/api/v1/dossiers/{nu}/pieces/{piece}/original"),
        ("GET", "/api/v1/dossiers/{nu}/pieces/{piece}/rendition"),
        ("GET", "/api/v1/dossiers/{nu}/export.pdf"),
        ("GET", "/api/v1/dossiers/{nu}/audit"),
        ("POST", "/api/v1/dossiers/{nu}/grants"),
        ("DELETE", "/api/v1/dossiers/{nu}/grants/{id}"),
        ("POST", "/api/v1/dossiers/{nu}/renew"),
        ("POST", "/api/v1/dossiers/{nu}/radiate"),
        ("POST", "/api/v1/session"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/openapi.json"),
    ] {
        assert!(documented.contains(&(m.to_owned(), p.to_owned())), "{m} {p} is not documented");
    }
    assert_eq!(documented.len(), vault::router::table().operations().len());

    // Every documented operation is served: the router does not answer
    // with its unknown-route or wrong-method refusal.
    let nu = app.register().await;
    let piece = app.upload_ok(&nu, &doc_of(30_000, 3)).await;
    for (method, path) in &documented {
        let uri = concrete(path, &nu, &piece);
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .header("authorization", format!("Bearer {}", app.guichet_token))
            .body(Body::empty())
            .unwrap();
        let resp = app.send(req).await;
        assert_ne!(resp.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        if resp.status == StatusCode::NOT_FOUND {
            let body = resp.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            assert!(!body.contains("no such route"), "{method} {path} is documented but not routed");
        }
    }
    // Documented JSON fields are fields the handlers accept: a body with
    // every one of them is never refused as holding an unknown field
    // (the inputs deny unknown fields, so a renamed field would be).
    for (method, path) in &documented {
        let op = &doc["paths"][path][method.to_lowercase()];
        let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object() else { continue };
        let mut body = serde_json::Map::new();
        for (name, s) in schema["properties"].as_object().unwrap() {
            let sample = match (s["type"].as_str(), s["format"].as_str()) {
                (Some("array"), _) => serde_json::json!(["59183"]),
                (_, Some("date")) => serde_json::json!("2026-11-02"),
                (_, Some("date-time")) => serde_json::json!("2027-01-01T00:00:00Z"),
                _ => serde_json::json!("x"),
            };
            body.insert(name.clone(), sample);
        }
        let uri = concrete(path, &nu, &piece);
        let r = app.post_json(&uri, &app.guichet_token, Value::Object(body)).await;
        let text = String::from_utf8_lossy(r.body.as_ref().unwrap()).into_owned();
        assert!(!text.contains("unknown field"), "{method} {path}: a documented field is refused: {text}");
    }
    let upload = &doc["paths"]["/api/v1/dossiers/{nu}/pieces"]["post"]["requestBody"]["content"]["multipart/form-data"]
        ["schema"];
    assert_eq!(upload["required"], serde_json::json!(["file"]));
    // The check above can fail: an undocumented field is refused.
    let r = app.post_json("/api/v1/session", "", serde_json::json!({"identifier": "x", "code": "y", "pin": "z"})).await;
    assert!(String::from_utf8_lossy(r.body.as_ref().unwrap()).contains("unknown field"));

    // And an undocumented route is refused as unknown (the check above can fail).
    let unknown = app.get(&format!("/api/v1/dossiers/{nu}/nothing-here"), &app.guichet_token).await;
    assert!(String::from_utf8_lossy(unknown.body.as_ref().unwrap()).contains("no such route"));
}

/// No route is added around the documented builder: the only `.route(`
/// call in the vault's sources is the one inside `routes.rs`.
#[test]
fn routes_are_only_added_through_the_documented_builder() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("routes.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains(".route(") || text.contains(".nest(") || text.contains(".route_service(") {
                    offenders.push(p.display().to_string());
                }
            }
        }
    }
    assert!(offenders.is_empty(), "routes added outside crate::routes: {offenders:?}");
}
