//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route the
//! router serves, generated from the route table ([`crate::router::table`]).

use serde_json::{Map, Value, json};

use crate::routes::{Auth, Consumes, Field, Operation, Produces, Ty};

/// What a path parameter holds, by its name in the route template.
fn path_parameter(name: &str) -> (String, Value) {
    let (text, schema) = match name {
        "nu" => {
            return (
                format!("The dossier's numéro unique: {}", dnu_api::numero_unique::FORMAT),
                json!({"type": "string", "pattern": "^[0-9A-Z]{3}[0-9]{10}[0-9A-Z]{5}$"}),
            );
        }
        "piece" => ("The piece's id", json!({"type": "string", "format": "uuid"})),
        "id" => ("The grant's id", json!({"type": "string", "format": "uuid"})),
        "version" => ("The digest of this build's page assets", json!({"type": "string", "pattern": "^[0-9a-f]{16}$"})),
        "file" => ("An asset's name (stylesheet, icon, font)", json!({"type": "string"})),
        _ => ("A path parameter", json!({"type": "string"})),
    };
    (text.to_owned(), schema)
}

fn media(p: Produces) -> Option<(&'static str, Value)> {
    let binary = json!({"type": "string", "contentMediaType": "application/octet-stream"});
    Some(match p {
        Produces::Json => ("application/json", json!({"type": "object"})),
        Produces::Pdf => ("application/pdf", binary),
        Produces::Zip => ("application/zip", binary),
        Produces::Png => ("image/png", binary),
        Produces::Html => ("text/html", json!({"type": "string"})),
        Produces::Text => ("text/plain", json!({"type": "string"})),
        Produces::Original => ("application/octet-stream", binary),
        Produces::Asset => ("*/*", binary),
        Produces::Redirect => return None,
    })
}

/// The schema of a body with these fields (any object when none are documented).
fn body_schema(fields: &[Field], json_body: bool) -> Value {
    if fields.is_empty() {
        return json!({"type": "object"});
    }
    let mut props = Map::new();
    for f in fields {
        let mut s = match f.ty {
            Ty::Text => json!({"type": "string"}),
            Ty::TextList => json!({"type": "array", "items": {"type": "string"}}),
            Ty::Date => json!({"type": "string", "format": "date"}),
            Ty::DateTime => json!({"type": "string", "format": "date-time"}),
            Ty::Uuid => json!({"type": "string", "format": "uuid"}),
            Ty::File => json!({"type": "string", "contentMediaType": "application/octet-stream"}),
            Ty::JsonText => json!({"type": "string", "contentMediaType": "application/json"}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Object => json!({"type": "object"}),
        };
        s["description"] = f.description.into();
        props.insert(f.name.into(), s);
    }
    let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
    // JSON bodies refuse unknown fields (serde deny_unknown_fields).
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": !json_body})
}

fn operation(op: &Operation) -> Value {
    let d = &op.doc;
    let mut params: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let (description, schema) = path_parameter(name);
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
        })
        .collect();
    params.extend(d.query.iter().map(|(name, description)| {
        json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
    }));
    params.extend(d.headers.iter().map(|(name, description)| {
        json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}})
    }));

    let mut ok = Map::new();
    let success_text = match d.success {
        201 => "Created",
        204 => "Done; no content",
        303 => "Done; the browser is sent to the next page",
        _ => "Success",
    };
    ok.insert("description".into(), success_text.into());
    if d.success == 303 {
        ok.insert(
            "headers".into(),
            json!({"Location": {"description": "the next page", "schema": {"type": "string"}}}),
        );
    } else if d.success != 204
        && let Some((mime, schema)) = media(d.produces)
    {
        ok.insert("content".into(), json!({ mime: {"schema": schema} }));
    }
    let mut responses = Map::new();
    responses.insert(d.success.to_string(), Value::Object(ok));
    responses.insert("4XX".into(), json!({"$ref": "#/components/responses/Refusal"}));
    responses.insert("5XX".into(), json!({"$ref": "#/components/responses/Failure"}));

    let mut o = Map::new();
    o.insert("operationId".into(), d.id.into());
    o.insert("summary".into(), d.summary.into());
    o.insert("tags".into(), json!([op.tag]));
    if !params.is_empty() {
        o.insert("parameters".into(), Value::Array(params));
    }
    let body = match d.consumes {
        Consumes::Nothing => None,
        Consumes::Json => Some(("application/json", body_schema(d.fields, true))),
        Consumes::Multipart => Some(("multipart/form-data", body_schema(d.fields, false))),
        Consumes::Form => Some(("application/x-www-form-urlencoded", body_schema(d.fields, false))),
    };
    if let Some((mime, schema)) = body {
        o.insert("requestBody".into(), json!({"required": true, "content": { mime: {"schema": schema} }}));
    }
    let security = match d.auth {
        Auth::None => json!([]),
        Auth::Bearer => json!([{"bearer": []}]),
        Auth::Cookie => json!([{"session": []}]),
        Auth::OptionalCookie => json!([{}, {"session": []}]),
    };
    o.insert("security".into(), security);
    o.insert("responses".into(), Value::Object(responses));
    Value::Object(o)
}

/// The document for these operations.
pub fn document(ops: &[Operation]) -> Value {
    let mut paths = Map::new();
    let mut tags: Vec<&str> = Vec::new();
    for op in ops {
        let item = paths.entry(op.path).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(op.method.as_str().to_ascii_lowercase(), operation(op));
        }
        if !tags.contains(&op.tag) {
            tags.push(op.tag);
        }
    }
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "a stable reason code, e.g. not_found, grant_expired"},
                "message": {"type": "string", "description": "what was wrong, for people"}
            }
        }}
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "DNU Vault",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The encrypted document vault behind the dossier numérique unique. JSON API under /api/v1 (Authorization: Bearer), server-rendered pages (session cookie), and operations endpoints.",
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}
        },
        "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an agent's access token or an applicant's session token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "__Host-dnu_session", "description": "the web pages' session"}
            },
            "schemas": {"Error": error},
            "responses": {
                "Refusal": {"description": "Refused: the code and message say why", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Failure": {"description": "Failed on the vault's side (details are logged, not sent)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}
