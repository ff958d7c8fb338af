//! The route table: every URL the vault serves, API and pages, in one
//! place, each with its documentation (a route cannot exist without its
//! OpenAPI entry: see [`crate::routes`]).
//!
//! Handlers are thin shells in their feature modules (parse the request,
//! call the operation, shape the answer); no feature imports this file.
//! Around all of them: the request span and id ([`crate::request`]), the
//! request metrics, and the JSON refusals of unknown routes and methods.

use std::sync::OnceLock;

use axum::{
    Router,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use dnu_api::wire::ErrorBody;

use crate::{
    app::Vault,
    applicants, audit,
    config::ProviderKind,
    dossiers,
    error::Error,
    export, grants, notices, operations, pieces,
    routes::{Auth, Consumes, Doc, Field, Produces, Routes, Ty, opt, req},
    sheets, web,
};

/// What a provider's redirect back to the vault carries.
const CALLBACK_QUERY: &[Field] = &[
    opt("code", Ty::Text, "the authorization code"),
    opt("state", Ty::Text, "the sign-in attempt's state"),
    opt("iss", Ty::Text, "the provider (RFC 9207)"),
    opt("error", Ty::Text, "the provider's error (access_denied: cancelled)"),
];

/// An INSEE commune code (`CommuneCode::parse`: trimmed, any case).
const COMMUNE: &str = r"^\s*(0[1-9]|[1-9][0-9]|2[ABab])[0-9]{3}\s*$";

/// A sign-in form's page saying the token, or the identifier and code,
/// are wrong.
const WRONG_CREDENTIALS: &[u16] = &[401];

/// A form that carries only its page's CSRF token.
const CSRF_FORM: &[Field] = &[req("csrf", Ty::Text, "the page session's form token")];

/// The attestation's identifier and code.
const ATTESTATION_FORM: &[Field] = &[
    req("identifier", Ty::Text, "the identifier on the applicant's attestation"),
    req("code", Ty::Text, "the personal code on the attestation"),
];

/// A provider's pages on a service where it is not configured.
const NO_PROVIDER: &[u16] = &[404];

/// A version's number, from 1.
const VERSION: &[Field] = &[opt("version", Ty::Int(1, i64::MAX), "version number (the latest if absent)")];

/// Every route the vault serves, with its documentation, grouped by the
/// OpenAPI tag of each domain.
pub fn table() -> Routes {
    Routes::new("")
        .merge(health())
        .merge(metrics())
        .merge(openapi())
        .merge(catalogue())
        .merge(dossiers())
        .merge(pieces())
        .merge(exports())
        .merge(pages())
        .merge(sheets())
        .merge(grants())
        .merge(signin())
        .merge(applicants())
        .merge(audit())
        .merge(letters())
}

/// The full router over a vault.
pub fn router(vault: Vault) -> Router {
    let (routes, _) = table().into_parts();
    let requests = axum::middleware::from_fn_with_state(vault.clone(), crate::request::span);
    routes
        .fallback(|| async { Error::NotFound("no such route".into()).into_response() })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(ErrorBody::new("method_not_allowed", "method not allowed on this route")),
            )
        })
        .layer(axum::middleware::from_fn_with_state(vault.clone(), pages_answer_in_html))
        .layer(axum::middleware::from_fn_with_state(vault.clone(), crate::listener::watch_body))
        .layer(axum::middleware::from_fn_with_state(vault.clone(), web::security_headers))
        .layer(axum::middleware::from_fn(crate::metrics::record_requests))
        .layer(requests)
        .with_state(vault)
}

/// The route templates of the pages (tag `pages`), from [`table`].
fn page_routes() -> &'static std::collections::HashSet<&'static str> {
    static PAGES: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    PAGES.get_or_init(|| table().operations().iter().filter(|op| op.tag == "pages").map(|op| op.path).collect())
}

/// A page answers in HTML, even when its handler let an API refusal
/// through: a browser never shows a person a JSON error.
async fn pages_answer_in_html(
    axum::extract::State(vault): axum::extract::State<Vault>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let page = req.extensions().get::<axum::extract::MatchedPath>().is_some_and(|p| page_routes().contains(p.as_str()));
    let res = next.run(req).await;
    let json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if page && json && res.status().as_u16() >= 400 { web::error_page(&vault, res).await } else { res }
}

/// `GET /api/openapi.json`, generated once from [`table`].
async fn openapi_json() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let text = DOC.get_or_init(|| crate::openapi::document(table().operations()).to_string());
    ([(header::CONTENT_TYPE, "application/json")], text.as_str()).into_response()
}

fn health() -> Routes {
    Routes::new("operations")
        .get(
            "/healthz",
            operations::healthz,
            Doc::new("healthz", "The process answers (liveness)", Auth::None, Produces::Json)
                .returns::<operations::Health>(),
        )
        .get(
            "/readyz",
            operations::readyz,
            Doc::new(
                "readyz",
                "The database and the object store answer too (readiness; 503 if not)",
                Auth::None,
                Produces::Json,
            )
            .returns::<operations::Readiness>()
            .unavailable_alike(),
        )
}

fn metrics() -> Routes {
    Routes::new("operations").get(
        "/metrics",
        operations::metrics,
        Doc::new("metrics", "Prometheus metrics of this process (text format)", Auth::None, Produces::Text),
    )
}

fn openapi() -> Routes {
    Routes::new("operations").get(
        "/api/openapi.json",
        openapi_json,
        Doc::new("openapi", "This OpenAPI document", Auth::None, Produces::Json),
    )
}

fn catalogue() -> Routes {
    Routes::new("catalogue").get(
        "/api/v1/catalogue",
        operations::catalogue,
        Doc::new("catalogue", "The catalogue of piece kinds and their validity rules", Auth::None, Produces::Json)
            .returns::<crate::domain::catalogue::Catalogue>(),
    )
}

fn dossiers() -> Routes {
    Routes::new("dossiers")
        .post(
            "/api/v1/dossiers",
            dossiers::register::register,
            Doc::new("registerDossier", "Register a dossier (guichets)", Auth::Bearer, Produces::Json)
                .returns::<dossiers::register::Registered>()
                .body(
                    Consumes::Json,
                    const {
                        &[
                            opt("numero_unique", Ty::Matching(crate::openapi::NU_PATTERN), "given by the national system; issued here when absent"),
                            req("communes", Ty::ListMatching(COMMUNE), "INSEE codes of the communes the applicant wishes"),
                            opt("deposited_on", Ty::Date, "deposit date; today when absent"),
                            opt("contact", Ty::Object, "how the applicant is reached: email, postal_address (lines), online (registered online), wants_post (asked for post); the notices' channels follow from it"),
                            opt("expected", Ty::Kinds, "catalogue codes of the pieces the applicant's situation calls for, beyond identity"),
                        ]
                    },
                )
                .success(201),
        )
        .get(
            "/api/v1/dossiers",
            dossiers::worklist::worklist,
            Doc::new("worklist", "The dossiers the caller may see, paginated", Auth::Bearer, Produces::Json)
                .query(const { &[
                    opt("commune", Ty::Matching(COMMUNE), "INSEE code of a commune the dossier asks for"),
                    opt("status", Ty::OneOf(&["active", "radiated"]), "active or radiated"),
                    opt("due", Ty::OneOf(&["renewal"]), "renewal: the registering organisation's active demands lapsing within 31 days (the relance list)"),
                    opt("completeness", Ty::OneOf(&["complete", "incomplete"]), "whether every piece the situation calls for is present and counts, today"),
                    opt("limit", Ty::Int(1, 500), "items per page (at most 500)"),
                    opt("after", Ty::Matching(crate::openapi::NU_PATTERN), "the `next` cursor of the previous page"),
                ] })
                .returns::<dossiers::worklist::Worklist>(),
        )
        .get(
            "/api/v1/dossiers/{nu}",
            dossiers::show::show,
            Doc::new("showDossier", "The dossier and its pieces' metadata", Auth::Bearer, Produces::Json)
                .returns::<dossiers::show::DossierView>(),
        )
        .put(
            "/api/v1/dossiers/{nu}/contact",
            dossiers::contact::put,
            Doc::new(
                "putContact",
                "Replace the applicant's contact details (the applicant, the registering guichet)",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const {
                    &[
                        opt("email", Ty::Text, "e-mail address"),
                        opt("postal_address", Ty::TextList, "the address block, 2 to 6 lines"),
                        opt("online", Ty::Bool, "registered or renewed online"),
                        opt("wants_post", Ty::Bool, "asked to receive post too"),
                    ]
                },
            )
            .returns::<crate::domain::ContactFields>(),
        )
        .put(
            "/api/v1/dossiers/{nu}/expected",
            dossiers::completeness::put,
            Doc::new(
                "putExpectedPieces",
                "Declare the pieces the applicant's situation calls for (the applicant, the registering guichet); answers the completeness",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const { &[req("kinds", Ty::Kinds, "catalogue codes; the identity piece is always called for")] },
            )
            .returns::<crate::domain::Completeness>(),
        )
        .post(
            "/api/v1/dossiers/{nu}/renew",
            dossiers::lifecycle::renew,
            Doc::new("renewDossier", "Renew the demand for a year", Auth::Bearer, Produces::Json)
                .returns::<dossiers::show::DossierView>(),
        )
        .post(
            "/api/v1/dossiers/{nu}/radiation-warnings",
            dossiers::warn,
            Doc::new(
                "warnRadiation",
                "Record that the applicant was warned, today, of a radiation for sans_reponse (c) or irrecevabilite (d): possible one month later",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const { &[req("reason", Ty::OneOf(&["sans_reponse", "irrecevabilite"]), "sans_reponse or irrecevabilite")] },
            )
            .returns::<dossiers::lifecycle::WarningView>()
            // Warned already for this reason: the warning recorded then.
            .also(&[200])
            .success(201),
        )
        .post(
            "/api/v1/dossiers/{nu}/radiate",
            dossiers::lifecycle::radiate,
            Doc::new(
                "radiateDossier",
                "Radiate the demand, with one of the accepted reasons",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const { &[req(
                    "reason",
                    Ty::OneOf(&["attribution", "renonciation", "sans_reponse", "irrecevabilite", "non_renouvellement", "fusion"]),
                    "one of the six reasons of CCH R.441-2-8",
                )] },
            )
            .returns::<dossiers::show::DossierView>(),
        )
        .post(
            "/api/v1/dossiers/{nu}/merges",
            dossiers::merge::merge,
            Doc::new(
                "mergeDossiers",
                "Merge another number of the same applicant into this one (R.441-2-8 (f)): its pieces and history \
                 move here, the older deposit date is kept, the other number is radiated for fusion",
                Auth::Bearer,
                Produces::Json,
            )
            .body(Consumes::Json, const { &[req("absorb", Ty::Text, "the numéro unique merged into this one")] })
            .returns::<dossiers::merge::MergeView>(),
        )
}

fn letters() -> Routes {
    Routes::new("letters")
        .get(
            "/api/v1/letters",
            notices::letters::list,
            Doc::new(
                "letterQueue",
                "The caller's organisation's letters to post (notices to applicants who get post)",
                Auth::Bearer,
                Produces::Json,
            )
            .query(const { &[opt("all", Ty::Bool, "true: also the letters already posted")] })
            .returns::<notices::letters::LetterQueue>(),
        )
        .get(
            "/api/v1/letters/{id}",
            notices::letters::pdf,
            Doc::new("letterPdf", "A letter as an A4 PDF, ready to print", Auth::Bearer, Produces::Pdf),
        )
        .post(
            "/api/v1/letters/{id}/posted",
            notices::letters::posted,
            Doc::new("letterPosted", "Mark a letter as posted (it leaves the queue)", Auth::Bearer, Produces::Json)
                .returns::<notices::letters::Posted>(),
        )
}

fn pieces() -> Routes {
    Routes::new("pieces")
        .upload(
            "/api/v1/dossiers/{nu}/pieces",
            pieces::upload::upload,
            Doc::new(
                "uploadPiece",
                "Upload a piece (multipart: kind, optional member, valid_until, scan, file); Idempotency-Key header honoured",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Multipart,
                const { &[
                    opt("kind", Ty::Kind, "the piece kind (see /api/v1/catalogue); required for a new piece"),
                    opt("piece", Ty::Uuid, "an existing piece of the dossier this file is a new version of"),
                    opt("member", Ty::Text, "the household member the piece concerns"),
                    opt("valid_until", Ty::Date, "end of validity, when the catalogue does not derive it"),
                    opt("scan", Ty::JsonText, "scan provenance {host, scanned_at, images_sha256} (agents only)"),
                    req(
                        "file",
                        Ty::File,
                        "the document: PDF, JPEG, PNG, TIFF or HEIC; repeated (up to 20) for the photos of one \
                         document's pages, in order: one piece, one rendition, the files kept together as a ZIP",
                    ),
                    opt(
                        "rotate",
                        Ty::Text,
                        "degrees clockwise to turn each file's pages, in order: 0, 90, 180 or 270, comma-separated",
                    ),
                ] },
            )
            .headers(const { &[opt(
                dnu_api::IDEMPOTENCY_KEY_HEADER,
                Ty::Matching("^[!-~]{8,128}$"),
                "a key naming this upload: sent again, it answers 200 with the version first filed under it",
            )] })
            .returns::<pieces::upload::UploadView>()
            // The same Idempotency-Key again: the version filed under it.
            .also(&[200])
            .success(201),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}",
            pieces::show::show,
            Doc::new("showPiece", "Piece metadata and versions", Auth::Bearer, Produces::Json)
                .returns::<pieces::show::PieceView>(),
        )
        .post(
            "/api/v1/dossiers/{nu}/pieces/{piece}/versions/{number}/mark",
            pieces::marks::mark,
            Doc::new(
                "markVersion",
                "Mark a version inexploitable, hors_perimetre or obsolete, with a reason (agents); nothing is deleted",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const {
                    &[
                        req("mark", Ty::OneOf(&["inexploitable", "hors_perimetre", "obsolete"]), "what the version is"),
                        req("reason", Ty::Text, "what is wrong, in a sentence (shown to the applicant)"),
                    ]
                },
            )
            .returns::<pieces::marks::MarkView>()
            .success(201),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/original",
            pieces::download::handler(pieces::Content::Original),
            Doc::new("downloadOriginal", "The original bytes of a version (roles allowed by policy)", Auth::Bearer, Produces::Original)
                .query(VERSION),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/rendition",
            pieces::download::handler(pieces::Content::Rendition),
            Doc::new("downloadRendition", "The sanitised PDF of a version", Auth::Bearer, Produces::Pdf)
                .query(VERSION),
        )
        .get(
            "/api/v1/dossiers/{nu}/pieces/{piece}/thumbnail",
            pieces::download::handler(pieces::Content::Thumbnail),
            Doc::new("downloadThumbnail", "A JPEG thumbnail of a version's first page", Auth::Bearer, Produces::Jpeg)
                .query(VERSION),
        )
}

fn exports() -> Routes {
    Routes::new("exports")
        .get(
            "/api/v1/dossiers/{nu}/export.pdf",
            export::dossier_pdf::export,
            Doc::new(
                "exportDossier",
                "The complete dossier as one PDF, watermarked for the caller",
                Auth::Bearer,
                Produces::Pdf,
            ),
        )
        .get(
            "/api/v1/dossiers/{nu}/export.zip",
            export::applicant_data::export,
            Doc::new(
                "exportApplicantData",
                "Everything held about the applicant (the applicant only)",
                Auth::Bearer,
                Produces::Zip,
            ),
        )
}

fn pages() -> Routes {
    use Auth::{Cookie, None as Open, OptionalCookie};
    use Produces::{Html, Original, Pdf, Redirect, Zip};
    Routes::new("pages")
        .get(
            "/static/{version}/{file}",
            web::assets::serve,
            Doc::new(
                "pageAsset",
                "A stylesheet, icon or font of the pages (the DSFR, embedded)",
                Open,
                Produces::Asset,
            ),
        )
        .get(
            "/accessibilite",
            web::about::accessibility,
            Doc::new("pageAccessibility", "The accessibility statement (RGAA)", OptionalCookie, Html),
        )
        .get("/", web::applicant::home, Doc::new("pageApplicantHome", "Applicant sign-in page", OptionalCookie, Html))
        .post(
            "/connexion",
            web::applicant::sign_in,
            Doc::new("pageApplicantSignIn", "Applicant sign-in form", Open, Redirect)
                .body(Consumes::Form, ATTESTATION_FORM)
                .also(WRONG_CREDENTIALS)
                .success(303),
        )
        .post(
            "/deconnexion",
            web::sign_out,
            Doc::new("pageSignOut", "Sign out (ends the page session)", Cookie, Redirect)
                .body(Consumes::Form, CSRF_FORM)
                .success(303),
        )
        .get(
            "/mon-dossier",
            web::applicant::dossier,
            Doc::new("pageApplicantDossier", "The applicant's dossier page", Cookie, Html),
        )
        .upload(
            "/mon-dossier/pieces",
            web::applicant::upload,
            Doc::new("pageApplicantUpload", "The applicant uploads a piece", Cookie, Redirect)
                .consumes(Consumes::Multipart)
                .success(303),
        )
        .post(
            "/mon-dossier/situation",
            web::applicant::situation,
            Doc::new(
                "pageApplicantSituation",
                "The applicant declares the pieces their situation calls for",
                Cookie,
                Redirect,
            )
            .consumes(Consumes::Form)
            .success(303),
        )
        .post(
            "/mon-dossier/coordonnees",
            web::applicant::contact,
            Doc::new("pageApplicantContact", "The applicant changes their contact details", Cookie, Redirect)
                .consumes(Consumes::Form)
                .success(303),
        )
        .post(
            "/mon-dossier/renouveler",
            web::applicant::renew,
            Doc::new("pageApplicantRenew", "The applicant renews their demand for a year", Cookie, Redirect)
                .body(Consumes::Form, CSRF_FORM)
                .success(303),
        )
        .get(
            "/mon-dossier/pieces/{piece}/rendu",
            web::applicant::rendition,
            Doc::new("pageApplicantRendition", "The applicant's own piece as a sanitised PDF", Cookie, Pdf),
        )
        .get(
            "/mon-dossier/donnees.zip",
            web::applicant::data,
            Doc::new("pageApplicantData", "All the applicant's data, as a ZIP", Cookie, Zip),
        )
        .get(
            "/courriers/{id}",
            web::letters::pdf,
            Doc::new("pageLetterPdf", "A letter of the guichet's queue, as a PDF", Cookie, Pdf),
        )
        .post(
            "/courriers/{id}/poste",
            web::letters::posted,
            Doc::new("pageLetterPosted", "Marks a letter as posted", Cookie, Redirect)
                .body(Consumes::Form, CSRF_FORM)
                .success(303),
        )
        .get("/agent", web::agent::home, Doc::new("pageAgentHome", "Agent sign-in page", OptionalCookie, Html))
        .post(
            "/agent/connexion",
            web::agent::sign_in,
            Doc::new("pageAgentSignIn", "Agent sign-in form (access token)", Open, Redirect)
                .body(Consumes::Form, const { &[req("token", Ty::Text, "the agent's access token")] })
                .also(WRONG_CREDENTIALS)
                .success(303),
        )
        .get(
            ProviderKind::ProConnect.start_path(),
            web::signin::proconnect_start,
            Doc::new(
                "pageProConnectStart",
                "Starts an agent's sign-in with ProConnect (redirect to the provider)",
                Open,
                Redirect,
            )
            .also(NO_PROVIDER)
            .success(303),
        )
        .get(
            ProviderKind::ProConnect.callback_path(),
            web::signin::proconnect_return,
            Doc::new(
                "pageProConnectReturn",
                "ProConnect's redirect back: opens the agent's page session, or says why not",
                Open,
                Redirect,
            )
            .query(CALLBACK_QUERY)
            .also(NO_PROVIDER)
            .success(303),
        )
        .get(
            ProviderKind::ProConnect.logout_path(),
            web::signin::proconnect_logged_out,
            Doc::new("pageProConnectLoggedOut", "ProConnect's redirect after its logout (state checked)", Open, Html)
                .query(const { &[opt("state", Ty::Text, "the logout's state")] }),
        )
        .get(
            ProviderKind::FranceConnect.start_path(),
            web::signin::franceconnect_start,
            Doc::new(
                "pageFranceConnectStart",
                "Starts an applicant's sign-in with FranceConnect (redirect to the provider)",
                Open,
                Redirect,
            )
            .also(NO_PROVIDER)
            .success(303),
        )
        .get(
            ProviderKind::FranceConnect.callback_path(),
            web::signin::franceconnect_return,
            Doc::new(
                "pageFranceConnectReturn",
                "FranceConnect's redirect back: opens the applicant's session, or asks to link the identity once",
                Open,
                Redirect,
            )
            .query(CALLBACK_QUERY)
            .also(NO_PROVIDER)
            .success(303),
        )
        .get(
            web::signin::LINK_PATH,
            web::signin::link_form,
            Doc::new(
                "pageFranceConnectLinkForm",
                "First FranceConnect sign-in: the attestation's identifier and code, once",
                Open,
                Html,
            )
            // No FranceConnect identity waiting to be linked: to the sign-in page.
            .also(&[303]),
        )
        .post(
            web::signin::LINK_PATH,
            web::signin::link,
            Doc::new(
                "pageFranceConnectLink",
                "Links the FranceConnect identity to the dossier of this attestation",
                Open,
                Redirect,
            )
            .body(Consumes::Form, ATTESTATION_FORM)
            .also(WRONG_CREDENTIALS)
            .success(303),
        )
        .get(
            ProviderKind::FranceConnect.logout_path(),
            web::signin::franceconnect_logged_out,
            Doc::new(
                "pageFranceConnectLoggedOut",
                "FranceConnect's redirect after its logout (state checked)",
                Open,
                Html,
            )
            .query(const { &[opt("state", Ty::Text, "the logout's state")] }),
        )
        .post(
            "/mon-dossier/franceconnect/retirer",
            web::signin::unlink,
            Doc::new("pageFranceConnectUnlink", "The applicant removes their FranceConnect link", Cookie, Redirect)
                .body(Consumes::Form, CSRF_FORM)
                .success(303),
        )
        .get(
            "/dossiers",
            web::agent::list,
            Doc::new("pageWorklist", "The agent's worklist, with search by numéro unique", Cookie, Html)
                .query(const { &[opt("nu", Ty::Text, "a numéro unique to open")] }),
        )
        .post(
            "/dossiers",
            web::agent::register,
            Doc::new("pageRegister", "Register a dossier (guichets)", Cookie, Html)
                .consumes(Consumes::Form)
                .success(201),
        )
        .get(
            "/dossiers/{nu}",
            web::dossier::show,
            Doc::new("pageDossier", "A dossier with the provenance of its pieces", Cookie, Html),
        )
        .upload(
            "/dossiers/{nu}/pieces",
            web::dossier::upload,
            Doc::new("pageAgentUpload", "Upload a piece on the applicant's behalf", Cookie, Redirect)
                .consumes(Consumes::Multipart)
                .success(303),
        )
        .get(
            "/dossiers/{nu}/pieces/{piece}/rendu",
            web::dossier::rendition,
            Doc::new("pageAgentRendition", "A piece's sanitised PDF, for a signed-in agent", Cookie, Pdf),
        )
        .get(
            "/dossiers/{nu}/pieces/{piece}/original",
            web::dossier::original,
            Doc::new(
                "pageAgentOriginal",
                "A piece's original bytes, for a signed-in agent (policy may ask for a second factor)",
                Cookie,
                Original,
            ),
        )
        .get(
            "/dossiers/{nu}/dossier.pdf",
            web::dossier::export,
            Doc::new("pageExport", "The complete watermarked dossier PDF", Cookie, Pdf),
        )
        .post(
            "/dossiers/{nu}/situation",
            web::dossier::situation,
            Doc::new(
                "pageAgentSituation",
                "The guichet declares the pieces the applicant's situation calls for",
                Cookie,
                Redirect,
            )
            .consumes(Consumes::Form)
            .success(303),
        )
        .get(
            "/dossiers/{nu}/feuille.pdf",
            web::dossier::sheet,
            Doc::new("pageSheet", "A separator sheet for a piece kind", Cookie, Pdf)
                .query(const { &[req("kind", Ty::Kind, "the piece kind")] }),
        )
}

fn sheets() -> Routes {
    Routes::new("sheets").get(
        "/api/v1/dossiers/{nu}/sheet.pdf",
        sheets::sheet,
        Doc::new(
            "separatorSheet",
            "A separator sheet (signed QR code) for scanning a piece of this kind",
            Auth::Bearer,
            Produces::Pdf,
        )
        .query(const { &[req("kind", Ty::Kind, "the piece kind the sheet announces")] }),
    )
}

fn signin() -> Routes {
    Routes::new("signin")
        .delete(
            "/api/v1/dossiers/{nu}/franceconnect",
            crate::signin::applicant::unlink_handler,
            Doc::new(
                "unlinkFranceConnect",
                "Remove the applicant's FranceConnect link (grant.manage: the registering guichet)",
                Auth::Bearer,
                Produces::Json,
            )
            .success(204),
        )
        .post(
        "/api/v1/agents/invitations",
        crate::signin::invite::create,
        Doc::new(
            "inviteAgent",
            "Invite a person as an agent of an organisation: they sign in with ProConnect under this e-mail (platform.manage)",
            Auth::Bearer,
            Produces::Json,
        )
        .body(
            Consumes::Json,
            const {
                &[
                    req("organisation", Ty::Text, "SIREN of the organisation"),
                    req("email", Ty::Text, "the e-mail address of their ProConnect account (any case)"),
                    opt("name", Ty::Text, "as shown in traces (the e-mail's local part if absent)"),
                ]
            },
        )
        .returns::<crate::signin::invite::Invited>()
        .success(201),
    )
}

fn grants() -> Routes {
    Routes::new("grants")
        .get(
            "/api/v1/dossiers/{nu}/grants",
            grants::list,
            Doc::new("listGrants", "The dossier's explicit grants", Auth::Bearer, Produces::Json)
                .returns::<Vec<grants::GrantView>>(),
        )
        .post(
            "/api/v1/dossiers/{nu}/grants",
            grants::create,
            Doc::new(
                "createGrant",
                "Grant an organisation access to the dossier for a purpose, until a date",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const {
                    &[
                        req("organisation", Ty::Text, "SIREN of the organisation granted access"),
                        req(
                            "purpose",
                            Ty::OneOf(&["instruction", "attribution", "dalo", "accompagnement", "controle"]),
                            "the finality: the grantee's requests must carry it",
                        ),
                        opt("note", Ty::Text, "the guichet's words, shown to the applicant, e.g. CAL du 12 décembre"),
                        req("expires_at", Ty::DateTime, "when the grant ends"),
                    ]
                },
            )
            .returns::<grants::GrantView>()
            .success(201),
        )
        .delete(
            "/api/v1/dossiers/{nu}/grants/{id}",
            grants::revoke,
            Doc::new("revokeGrant", "Revoke a grant", Auth::Bearer, Produces::Json).success(204),
        )
}

fn applicants() -> Routes {
    Routes::new("applicants").post(
        "/api/v1/session",
        applicants::sign_in,
        Doc::new(
            "applicantSession",
            "An applicant signs in with identifier and code; returns a session token",
            Auth::None,
            Produces::Json,
        )
        .body(
            Consumes::Json,
            const {
                &[
                    req("identifier", Ty::Text, "the identifier on the applicant's attestation"),
                    req("code", Ty::Text, "the personal code on the attestation"),
                ]
            },
        )
        .returns::<applicants::Session>()
        // A wrong identifier or code, a locked attestation.
        .also(&[401]),
    )
}

fn audit() -> Routes {
    Routes::new("audit").get(
        "/api/v1/dossiers/{nu}/audit",
        audit::trace,
        Doc::new("dossierAudit", "The dossier's access trace", Auth::Bearer, Produces::Json)
            .returns::<Vec<audit::TraceEvent>>(),
    )
}
