//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route the
//! router serves, generated from the route table ([`crate::router::table`]).

use schemars::{SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::routes::{Auth, Consumes, Field, Operation, Produces, Ty};

/// A numéro unique's structure (`dnu_api::numero_unique::check`) as a
/// pattern: territory, month 01–12, year and sequence, guichet.
pub const NU_PATTERN: &str = "^[0-9A-Z]{3}(0[1-9]|1[0-2])[0-9]{8}[0-9A-Z]{5}$";

/// What a path parameter holds, by its name in the route template.
fn path_parameter(name: &str) -> (String, Value) {
    let (text, schema) = match name {
        "nu" => {
            return (
                format!("The dossier's numéro unique: {}", dnu_api::numero_unique::FORMAT),
                json!({"type": "string", "pattern": NU_PATTERN}),
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

/// The media types of a success answer, each with its schema.
fn media(p: Produces) -> Vec<(&'static str, Value)> {
    let binary = || json!({"type": "string", "contentMediaType": "application/octet-stream"});
    match p {
        Produces::Json => vec![("application/json", json!({"type": "object"}))],
        Produces::Pdf => vec![("application/pdf", binary())],
        Produces::Zip => vec![("application/zip", binary())],
        Produces::Jpeg => vec![("image/jpeg", binary())],
        Produces::Html => vec![("text/html", json!({"type": "string"}))],
        Produces::Text => vec![("text/plain", json!({"type": "string"}))],
        // What intake accepts, and the ZIP that keeps the photos of one
        // document's pages together.
        Produces::Original => {
            ["application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic", "application/zip"]
                .into_iter()
                .map(|m| (m, binary()))
                .collect()
        }
        Produces::Asset => vec![("*/*", binary())],
        Produces::Redirect => Vec::new(),
    }
}

/// The schema of a body with these fields (any object when none are documented).
fn body_schema(fields: &[Field], json_body: bool) -> Value {
    if fields.is_empty() {
        return json!({"type": "object"});
    }
    let mut props = Map::new();
    for f in fields {
        props.insert(f.name.into(), field_schema(f));
    }
    let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
    // JSON bodies refuse unknown fields (serde deny_unknown_fields).
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": !json_body})
}

/// The schema of one field, parameter or header.
fn field_schema(f: &Field) -> Value {
    let text = |pattern: &str| json!({"type": "string", "pattern": pattern});
    let mut s = match f.ty {
        Ty::Text => json!({"type": "string"}),
        Ty::NonEmpty => text("\\S"),
        Ty::TextList => json!({"type": "array", "items": {"type": "string"}}),
        Ty::OneOf(words) => json!({"type": "string", "enum": words}),
        Ty::ListOf(words) => json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": words}}),
        Ty::Matching(p) => text(p),
        Ty::ListMatching(p) => json!({"type": "array", "minItems": 1, "items": text(p)}),
        Ty::Int(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::Kind => json!({"type": "string", "enum": kinds()}),
        Ty::Kinds => json!({"type": "array", "items": {"type": "string", "enum": kinds()}}),
        Ty::Date => json!({"type": "string", "format": "date"}),
        Ty::DateTime => json!({"type": "string", "format": "date-time"}),
        Ty::Uuid => json!({"type": "string", "format": "uuid"}),
        Ty::File => json!({"type": "string", "contentMediaType": "application/octet-stream"}),
        Ty::JsonText => json!({"type": "string", "contentMediaType": "application/json"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Object => json!({"type": "object"}),
    };
    s["description"] = f.description.into();
    s
}

/// The codes of the catalogue's piece kinds.
fn kinds() -> Vec<&'static str> {
    crate::domain::catalogue::shipped().map(|c| c.kinds.iter().map(|k| k.code.as_str()).collect()).unwrap_or_default()
}

/// Whether an operation is one of the pages (answers in HTML to people)
/// rather than of the API (answers in JSON to programs).
fn is_page(op: &Operation) -> bool {
    op.tag == "pages" || matches!(op.doc.auth, Auth::Cookie | Auth::OptionalCookie)
}

/// The statuses an operation answers besides its success: those of its
/// kind (authentication, a path naming something, a body, a write), then
/// its own.
fn error_statuses(op: &Operation) -> Vec<u16> {
    let d = &op.doc;
    // Anyone may be refused for too many connections (429) and meet a
    // database or store that does not answer (503).
    let mut s = vec![429, 500, 503];
    match d.auth {
        Auth::Bearer => s.extend([401, 403]),
        // Refused by policy, or a form without its session's CSRF token.
        Auth::Cookie => s.push(403),
        // Signed in already: on to the visitor's own page.
        Auth::OptionalCookie => s.push(303),
        Auth::None => {}
    }
    if op.path.contains('{') {
        // Nothing by that name (404), or a name that cannot be one: a
        // numéro unique of the wrong structure, an id that is no UUID
        // (400 or 422).
        s.extend([400, 404, 422]);
    }
    if op.path.contains("{nu}") {
        // A dossier erased a year after its radiation.
        s.push(410);
    }
    if !d.query.is_empty() || !d.headers.is_empty() {
        // Malformed (400), or well-formed but meaningless here (422).
        s.extend([400, 422]);
    }
    match d.consumes {
        Consumes::Nothing => {}
        Consumes::Json => s.extend([400, 408, 413, 415, 422]),
        // A page's form posted from elsewhere, or without its CSRF token: 403.
        Consumes::Form => s.extend([400, 403, 408, 413, 415, 422]),
        Consumes::Multipart => s.extend([400, 408, 413, 415, 422, 507]),
    }
    if op.method != axum::http::Method::GET {
        s.extend([409, 507]);
    }
    s.extend_from_slice(d.also);
    s.sort_unstable();
    s.dedup();
    s
}

fn operation(op: &Operation, g: &mut SchemaGenerator) -> Value {
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
    for (place, fields) in [("query", d.query), ("header", d.headers)] {
        params.extend(fields.iter().map(|f| {
            json!({"name": f.name, "in": place, "required": f.required, "description": f.description,
                   "schema": field_schema(f)})
        }));
    }

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
    } else if d.success != 204 {
        let mut content = Map::new();
        for (mime, schema) in media(d.produces) {
            let schema = match d.returns {
                Some(of) => Value::from(of(g)),
                None => schema,
            };
            content.insert(mime.into(), json!({"schema": schema}));
        }
        if !content.is_empty() {
            ok.insert("content".into(), Value::Object(content));
        }
    }
    let content = ok.get("content").cloned();
    let mut responses = Map::new();
    responses.insert(d.success.to_string(), Value::Object(ok));
    if d.auth == Auth::Cookie && d.success != 303 {
        responses.insert(
            "303".into(),
            json!({"description": "Not signed in (or not as who the page is for): to the sign-in page",
                   "headers": {"Location": {"description": "the sign-in page", "schema": {"type": "string"}}}}),
        );
    }
    let page = is_page(op);
    for status in error_statuses(op) {
        if (200..300).contains(&status) {
            let mut again = json!({"description": "Done before: the answer it had then"});
            if let Some(content) = &content {
                again["content"] = content.clone();
            }
            responses.insert(status.to_string(), again);
            continue;
        }
        if status < 400 {
            responses.insert(
                status.to_string(),
                json!({"description": "Sent elsewhere: the Location says where",
                       "headers": {"Location": {"description": "the next page", "schema": {"type": "string"}}}}),
            );
            continue;
        }
        if status == 503
            && d.unavailable_alike
            && let Some(content) = &content
        {
            responses.insert(
                status.to_string(),
                json!({"description": "Not ready: the answer says what is unavailable", "content": content}),
            );
            continue;
        }
        let kind = match (page, status >= 500) {
            _ if d.produces == Produces::Asset => "AssetRefusal",
            (false, false) => "Refusal",
            (false, true) => "Failure",
            (true, false) => "PageRefusal",
            (true, true) => "PageFailure",
        };
        responses.insert(status.to_string(), json!({"$ref": format!("#/components/responses/{kind}")}));
    }

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
        // A page without a session is not refused: it sends the browser
        // to the sign-in page (303, documented with the page).
        Auth::Cookie => json!([{}, {"session": []}]),
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
    // Named types land in `components/schemas`, referred to from answers.
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    for op in ops {
        let item = paths.entry(op.path).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(op.method.as_str().to_ascii_lowercase(), operation(op, &mut g));
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
    let mut schemas = g.take_definitions(true);
    schemas.insert("Error".into(), error);
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
            "schemas": schemas,
            "responses": {
                "Refusal": {"description": "Refused: the code and message say why", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Failure": {"description": "Failed on the vault's side (details are logged, not sent)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "PageRefusal": {"description": "Refused: a page says why, in French", "content": {"text/html": {"schema": {"type": "string"}}}},
                "AssetRefusal": {"description": "No such asset in this build", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "PageFailure": {"description": "Failed on the vault's side: a page says so, in French", "content": {"text/html": {"schema": {"type": "string"}}}}
            }
        }
    })
}
