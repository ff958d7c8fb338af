//! The one way a route is added: with its documentation.
//!
//! Each domain module builds its routes with [`Routes`], which registers the
//! handler on the axum router *and* records an [`Operation`] describing it.
//! `GET /api/openapi.json` is generated from those records
//! ([`crate::openapi`]), so the document lists exactly what the router
//! serves: a route cannot be added without its entry. (utoipa would derive
//! the same from attributes on each handler; this keeps the dependency tree
//! lean and the table next to the routes it describes.)

use axum::{
    Router,
    extract::DefaultBodyLimit,
    handler::Handler,
    http::Method,
    routing::{MethodFilter, on},
};

use crate::app::Vault;

/// How a caller authenticates to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Open to anyone (health, sign-in, catalogue).
    None,
    /// `Authorization: Bearer <token>` (an agent's token or an applicant's session token).
    Bearer,
    /// The web pages' session cookie.
    Cookie,
    /// A page that works signed out and shows more signed in.
    OptionalCookie,
}

/// What an operation answers with on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    Json,
    Pdf,
    Zip,
    Jpeg,
    Html,
    Text,
    /// An original as uploaded (its own media type).
    Original,
    /// A file of the pages' look: stylesheet, icon or font (its own media type).
    Asset,
    /// A redirection after a form (303 See Other).
    Redirect,
}

/// What an operation's request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumes {
    Nothing,
    Json,
    Multipart,
    Form,
}

/// The type of a request body field, query parameter or header: as exact
/// as the handler's parsing, so that a client (or a fuzzer) generating
/// values from the document sends what the vault accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    /// Text of at least one character that is not a space.
    NonEmpty,
    TextList,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A list of these words (at least one).
    ListOf(&'static [&'static str]),
    /// Text matching this regular expression (anchored).
    Matching(&'static str),
    /// A list (at least one) of texts matching this regular expression.
    ListMatching(&'static str),
    /// An integer in this range (inclusive).
    Int(i64, i64),
    /// A piece kind of the shipped catalogue.
    Kind,
    /// A list of piece kinds of the catalogue (possibly empty).
    Kinds,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    DateTime,
    Uuid,
    /// A file part of a multipart form.
    File,
    /// A JSON document in a form field.
    JsonText,
    Bool,
    /// A JSON object, described in words.
    Object,
}

/// One field of a request body (JSON object or form).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub description: &'static str,
}

/// A required field.
pub const fn req(name: &'static str, ty: Ty, description: &'static str) -> Field {
    Field { name, ty, required: true, description }
}

/// An optional field.
pub const fn opt(name: &'static str, ty: Ty, description: &'static str) -> Field {
    Field { name, ty, required: false, description }
}

/// The documentation of one operation.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub produces: Produces,
    pub consumes: Consumes,
    /// Query parameters.
    pub query: &'static [Field],
    /// Request headers the operation reads besides authentication.
    pub headers: &'static [Field],
    /// The request body's fields, when it has documented ones.
    pub fields: &'static [Field],
    /// Success status (200 unless said).
    pub success: u16,
    /// The JSON schema of the success answer (see [`Doc::returns`]).
    pub returns: Option<SchemaOf>,
    /// Statuses beyond those every operation of its kind can answer
    /// (`crate::openapi` derives those from the auth, path and body): a
    /// repeated request's 200, a redirect, a refusal of its own.
    pub also: &'static [u16],
    /// Its 503 carries the same body as its success (readiness).
    pub unavailable_alike: bool,
}

/// Writes the schema of a type into the document's generator (which keeps
/// named types under `components/schemas`) and returns a reference to it.
pub type SchemaOf = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

fn schema_of<T: schemars::JsonSchema>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

impl Doc {
    pub const fn new(id: &'static str, summary: &'static str, auth: Auth, produces: Produces) -> Self {
        Self {
            id,
            summary,
            auth,
            produces,
            consumes: Consumes::Nothing,
            query: &[],
            headers: &[],
            fields: &[],
            success: 200,
            returns: None,
            also: &[],
            unavailable_alike: false,
        }
    }

    /// The success answer is `T` as JSON (the handler's own type, so the
    /// document cannot drift from what is sent).
    pub const fn returns<T: schemars::JsonSchema>(mut self) -> Self {
        self.returns = Some(schema_of::<T>);
        self
    }

    /// Its 503 answer has the success's body (it says what is unavailable).
    pub const fn unavailable_alike(mut self) -> Self {
        self.unavailable_alike = true;
        self
    }

    /// Statuses this operation answers beyond its kind's (see `also`).
    pub const fn also(mut self, statuses: &'static [u16]) -> Self {
        self.also = statuses;
        self
    }

    pub const fn consumes(mut self, c: Consumes) -> Self {
        self.consumes = c;
        self
    }

    /// A body of `c` with these fields (write the list as `const { &[…] }`
    /// so it is static).
    pub const fn body(mut self, c: Consumes, fields: &'static [Field]) -> Self {
        self.consumes = c;
        self.fields = fields;
        self
    }

    pub const fn query(mut self, q: &'static [Field]) -> Self {
        self.query = q;
        self
    }

    pub const fn headers(mut self, h: &'static [Field]) -> Self {
        self.headers = h;
        self
    }

    pub const fn success(mut self, status: u16) -> Self {
        self.success = status;
        self
    }
}

/// One documented operation the router serves.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub tag: &'static str,
    pub doc: Doc,
}

/// A router under construction with the record of what it serves.
#[must_use]
pub struct Routes {
    tag: &'static str,
    router: Router<Vault>,
    ops: Vec<Operation>,
}

impl Routes {
    /// Routes of one domain; `tag` groups them in the OpenAPI document.
    pub fn new(tag: &'static str) -> Self {
        Self { tag, router: Router::new(), ops: Vec::new() }
    }

    pub fn get<H: Handler<T, Vault>, T: 'static>(self, path: &'static str, handler: H, doc: Doc) -> Self {
        self.add((Method::GET, MethodFilter::GET), path, handler, doc, false)
    }

    pub fn post<H: Handler<T, Vault>, T: 'static>(self, path: &'static str, handler: H, doc: Doc) -> Self {
        self.add((Method::POST, MethodFilter::POST), path, handler, doc, false)
    }

    pub fn put<H: Handler<T, Vault>, T: 'static>(self, path: &'static str, handler: H, doc: Doc) -> Self {
        self.add((Method::PUT, MethodFilter::PUT), path, handler, doc, false)
    }

    pub fn delete<H: Handler<T, Vault>, T: 'static>(self, path: &'static str, handler: H, doc: Doc) -> Self {
        self.add((Method::DELETE, MethodFilter::DELETE), path, handler, doc, false)
    }

    /// A POST whose handler enforces `VAULT_MAX_UPLOAD_BYTES` itself, while
    /// streaming, in the API's error shape: axum's default body limit (which
    /// would refuse at 2 MB) is off on this route only.
    pub fn upload<H: Handler<T, Vault>, T: 'static>(self, path: &'static str, handler: H, doc: Doc) -> Self {
        self.add((Method::POST, MethodFilter::POST), path, handler, doc, true)
    }

    fn add<H: Handler<T, Vault>, T: 'static>(
        mut self,
        (method, filter): (Method, MethodFilter),
        path: &'static str,
        handler: H,
        doc: Doc,
        unlimited_body: bool,
    ) -> Self {
        let mut mr = on(filter, handler);
        if unlimited_body {
            mr = mr.layer(DefaultBodyLimit::disable());
        }
        // axum merges method routers registered on the same path.
        self.router = self.router.route(path, mr);
        self.ops.push(Operation { method, path, tag: self.tag, doc });
        self
    }

    /// Adds another domain's routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }

    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    pub fn into_parts(self) -> (Router<Vault>, Vec<Operation>) {
        (self.router, self.ops)
    }
}
