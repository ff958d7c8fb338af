//! The web pages, server-rendered, in French, working without JavaScript.
//!
//! They call the same operations as the API (never its handlers), so the
//! same policy checks and traces apply; what they add is a session cookie (`Secure`, `HttpOnly`, `SameSite=Strict`) in
//! place of the bearer header, and a CSRF token on every form that changes
//! something. They are built from the State's design system (DSFR,
//! `assets`), served by the vault itself. Accessibility (RGAA 4.1, WCAG
//! 2.1 AA, checked by axe-core in the page tests): one `h1` and a distinct
//! `title` per page, labels on every field, errors tied to their field and
//! announced, visible focus, skip links, explicit names on every link.

pub mod about;
pub mod agent;
pub mod applicant;
pub mod assets;
pub mod completeness;
pub mod dossier;
pub mod fr;
pub mod letters;
pub mod signin;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use intake::RefusalCode;
use maud::{DOCTYPE, Markup, html};

use crate::{
    app::Vault,
    auth::{Carrier, Principal, TokenKind},
    config::ProviderKind,
    crypto::sha256,
    error::Error,
};

/// Name of the session cookie (it holds a page session). `__Host-`: the
/// browser keeps it only if it is `Secure`, for this host alone and the
/// whole path, so no sibling subdomain can set or overwrite it.
pub const COOKIE: &str = "__Host-dnu_session";

/// Headers on every HTML page. Guichet browsers are shared: nothing is
/// cached; pages cannot be framed (clickjacking), leak their URL (which
/// names a dossier) to another site, or use anything but the vault's own
/// stylesheet, fonts and script (nothing inline; some DSFR icons are
/// `data:` images). HSTS only when the proxy in front says the request
/// came over HTTPS and the operator trusts it (`VAULT_TRUST_FORWARDED_FOR`).
pub async fn security_headers(
    axum::extract::State(vault): axum::extract::State<Vault>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let https = vault.config().believes_forwarded(peer)
        && req.headers().get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut res = next.run(req).await;
    let html = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return res;
    }
    // Forms may lead to the identity providers: the sign-in buttons and
    // the sign-out redirect there (browsers apply form-action to where a
    // form's answer redirects).
    let providers: String = ProviderKind::ALL
        .into_iter()
        .filter_map(|k| vault.config().signin.provider(k))
        .map(|p| format!(" {}", origin(&p.issuer)))
        .collect();
    let csp = HeaderValue::from_str(&format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; font-src 'self'; \
         img-src 'self' data:; form-action 'self'{providers}; frame-ancestors 'none'; base-uri 'none'"
    ))
    .unwrap_or(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..].find('/').map_or(url, |i| &url[..after_scheme + i])
}

/// A page: the shared shell around `main`, built from the DSFR's header,
/// skip links and footer. The State's brand block and fonts only for a
/// State operator; others show their own name in the same places.
pub fn page(vault: &Vault, title: &str, signed_in: Option<&Session>, main: Markup) -> Html<String> {
    let operator = &vault.config().operator;
    let home = match signed_in.map(|s| &s.principal) {
        Some(Principal::Agent(_)) => "/dossiers",
        Some(Principal::Applicant { .. }) => "/mon-dossier",
        None => "/",
    };
    let doc = html! {
        (DOCTYPE)
        html lang="fr" data-fr-scheme="light" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — DNU Vault" }
                link rel="stylesheet" href=(assets::stylesheet());
                @if operator.state { link rel="stylesheet" href=(assets::state_fonts()); }
                script src=(assets::script()) defer {}
            }
            body {
                div.fr-skiplinks {
                    nav.fr-container aria-label="Accès rapide" {
                        ul.fr-skiplinks__list {
                            li { a.fr-link href="#contenu" { "Aller au contenu" } }
                            li { a.fr-link href="#pied" { "Aller au pied de page" } }
                        }
                    }
                }
                header.fr-header {
                    div.fr-header__body { div.fr-container { div.fr-header__body-row {
                        div.fr-header__brand {
                            @if operator.state {
                                div.fr-header__brand-top {
                                    div.fr-header__logo { p.fr-logo { "République" br; "française" } }
                                }
                            }
                            div.fr-header__service {
                                a href=(home) title=(format!("Accueil — {SERVICE}")) {
                                    p.fr-header__service-title { (SERVICE) }
                                }
                                p.fr-header__service-tagline { (operator.name) }
                            }
                        }
                        @if let Some(s) = signed_in {
                            div.dnu-header-actions {
                                form method="post" action="/deconnexion" {
                                    input type="hidden" name="csrf" value=(s.csrf());
                                    button.fr-btn.fr-btn--tertiary.fr-btn--sm type="submit" { "Se déconnecter" }
                                }
                            }
                        }
                    } } }
                }
                main.dnu-main id="contenu" tabindex="-1" {
                    div.fr-container { (main) }
                }
                footer.fr-footer id="pied" {
                    div.fr-container {
                        div.fr-footer__body {
                            div.fr-footer__brand {
                                @if operator.state {
                                    p.fr-logo { "République" br; "française" }
                                } @else {
                                    p.dnu-footer-operator { (operator.name) }
                                }
                            }
                            div.fr-footer__content {
                                p.fr-footer__content-desc {
                                    (SERVICE) " : les pièces justificatives de la demande de logement social, "
                                    "déposées une fois, chiffrées, consultées par les partenaires habilités ; "
                                    "chaque consultation est tracée et visible du demandeur."
                                }
                            }
                        }
                        div.fr-footer__bottom {
                            ul.fr-footer__bottom-list {
                                li.fr-footer__bottom-item {
                                    a.fr-footer__bottom-link href="/accessibilite" { "Accessibilité : partiellement conforme" }
                                }
                            }
                            div.fr-footer__bottom-copy { p { "Service opéré par " (operator.name) "." } }
                        }
                    }
                }
            }
        }
    };
    Html(doc.into_string())
}

/// The service's name, in the header and the footer.
pub const SERVICE: &str = "Dossier numérique unique — logement social";

/// A DSFR alert announcing an error (read out when the page opens); `id`
/// lets the fields it concerns point to it.
pub fn alert_error(id: Option<&str>, message: &str) -> Markup {
    html! {
        div.fr-alert.fr-alert--error.fr-alert--sm id=[id] role="alert" { p { (message) } }
    }
}

/// A DSFR alert telling what just succeeded.
pub fn alert_success(message: impl maud::Render) -> Markup {
    html! {
        div.fr-alert.fr-alert--success.fr-alert--sm role="status" { p { (message) } }
    }
}

/// A DSFR table: `caption` names it for screen readers (the heading above
/// it names it on screen) and the scrolling region a phone pans, which the
/// keyboard can reach; `head` the columns.
pub fn table(id: &str, caption: &str, head: &[&str], body: Markup) -> Markup {
    html! {
        div.fr-table.fr-table--no-caption {
            div.fr-table__wrapper { div.fr-table__container {
                div.fr-table__content tabindex="0" role="region" aria-label=(caption) {
                    table id=(id) {
                        caption { (caption) }
                        thead { tr { @for h in head { th scope="col" { (h) } } } }
                        tbody { (body) }
                    }
                }
            } }
        }
    }
}

/// A signed-in browser: its session token and who it stands for.
pub struct Session {
    token: String,
    pub principal: Principal,
}

impl Session {
    /// The CSRF token of this session's forms: derived from the session
    /// token, which a third-party page can neither read nor guess.
    pub fn csrf(&self) -> String {
        csrf_for(&self.token)
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn check_csrf(&self, got: &str) -> Result<(), Error> {
        if crate::crypto::constant_time_eq(self.csrf().as_bytes(), got.trim().as_bytes()) {
            Ok(())
        } else {
            Err(Error::Forbidden("the form has expired: reload the page and send it again".into()))
        }
    }
}

fn csrf_for(token: &str) -> String {
    hex::encode(&sha256(format!("dnu-vault/csrf/v1/{token}").as_bytes())[..16])
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

/// The value of the request's cookie `name` (an empty one counts as absent).
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for a `__Host-` cookie: `Secure`, `HttpOnly`, this host
/// alone, the whole path; `value` for `max_age` seconds (0 ends it).
pub fn host_cookie(name: &str, value: &str, same_site: &str, max_age: u32) -> HeaderValue {
    let v = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={max_age}");
    // Values are tokens the vault minted (base64url): always valid; the
    // fallback only ends the cookie.
    HeaderValue::from_str(&v)
        .or_else(|_| HeaderValue::from_str(&format!("{name}=; Path=/; Secure; Max-Age=0")))
        .unwrap_or(HeaderValue::from_static("__Host-dnu_session=; Path=/; Secure; Max-Age=0"))
}

/// Whether a sign-in form was posted by this site's own page. Sign-in
/// forms have no session yet, hence no CSRF token: without this check,
/// another site could sign a victim's browser into the attacker's dossier,
/// where the victim would then upload their papers. Browsers say where a
/// request comes from with `Sec-Fetch-Site` (`same-origin`, or `none` for
/// a request the user typed), older ones with `Origin`, compared by host
/// name (a proxy may drop the port from `Host`). A client that sends
/// neither is not a browser another site could drive.
pub fn from_own_pages(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else { return true };
    let host_name = |authority: &str| {
        let a = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        match a.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_ascii_lowercase(),
            None => a.split(':').next().unwrap_or_default().to_ascii_lowercase(),
        }
    };
    let origin_host = origin.split_once("://").map(|(_, rest)| host_name(rest.trim_end_matches('/')));
    origin_host.is_some_and(|o| text(header::HOST.as_str()).is_some_and(|h| host_name(h) == o))
}

/// The answer to a sign-in form posted from another site.
pub fn foreign_form(vault: &Vault) -> Response {
    let main = html! {
        h1 { "Connexion refusée" }
        p { "Ce formulaire de connexion ne vient pas de ce site. Ouvrez la page de connexion du service et connectez-vous depuis celle-ci." }
    };
    (axum::http::StatusCode::FORBIDDEN, page(vault, "Connexion refusée", None, main)).into_response()
}

/// `Set-Cookie` for an applicant's new session (or, with `None`, one that
/// ends it).
pub fn session_cookie(token: Option<&str>) -> HeaderValue {
    session_cookie_for(token.unwrap_or_default(), if token.is_some() { 3600 } else { 0 })
}

/// `Set-Cookie` holding `token` for `max_age` seconds (0 ends it).
pub fn session_cookie_for(token: &str, max_age: u32) -> HeaderValue {
    host_cookie(COOKIE, token, "Strict", max_age)
}

/// The session of a page request, if signed in.
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<Vault> for MaybeSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        // Only page sessions (an applicant's, an agent's) ride in the
        // cookie; an agent's access token there is not a session.
        let Some(token) =
            cookie_token(&parts.headers).filter(|t| TokenKind::of(t).is_some_and(|k| k.accepted(Carrier::Cookie)))
        else {
            return Ok(Self(None));
        };
        match Principal::from_token(vault, &token, Carrier::Cookie, None).await {
            Ok(principal) => Ok(Self(Some(Session { token, principal }))),
            // An expired or unknown session is "not signed in", not an error page.
            Err(Error::Unauthenticated(_)) => Ok(Self(None)),
            Err(e) => Err(e),
        }
    }
}

/// A page request from a signed-in agent. Anyone else is sent to the
/// agents' sign-in page: the rejection is the redirect.
pub struct AgentSession(pub Session);

impl FromRequestParts<Vault> for AgentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Response> {
        signed_in(parts, vault, |p| matches!(p, Principal::Agent(_)), || Redirect::to("/agent").into_response())
            .await
            .map(Self)
    }
}

/// A page request from a signed-in applicant. Anyone else is sent to the
/// sign-in page, told the session expired.
pub struct ApplicantSession(pub Session);

impl FromRequestParts<Vault> for ApplicantSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Response> {
        signed_in(parts, vault, |p| matches!(p, Principal::Applicant { .. }), to_sign_in).await.map(Self)
    }
}

/// The page session if it is `wanted`'s kind, else the `elsewhere` redirect.
async fn signed_in(
    parts: &mut Parts,
    vault: &Vault,
    wanted: impl Fn(&Principal) -> bool,
    elsewhere: impl Fn() -> Response,
) -> Result<Session, Response> {
    match MaybeSession::from_request_parts(parts, vault).await {
        Ok(MaybeSession(Some(s))) if wanted(&s.principal) => Ok(s),
        Ok(_) => Err(elsewhere()),
        Err(e) => Err(e.into_response()),
    }
}

/// Errors the person at a form can fix: shown beside the field rather than
/// as an error page.
pub fn shown_at_form(e: &Error) -> bool {
    matches!(
        e,
        Error::UnsupportedMediaType(_)
            | Error::Unprocessable { .. }
            | Error::TooLarge { .. }
            | Error::Invalid(_)
            | Error::BadRequest(_)
            | Error::Forbidden(_)
    )
}

/// What a refused upload tells the person at the form, in French (the API
/// answers the same refusals in English, with the same codes).
pub fn message_fr(e: &Error) -> String {
    match e {
        Error::UnsupportedMediaType(_) => "Ce fichier n'est pas un document accepté : envoyez un PDF, une photo \
                                           JPEG, HEIC ou PNG, ou un TIFF."
            .into(),
        Error::TooLarge { limit } => {
            format!(
                "Le fichier dépasse la taille acceptée ({} Mo) : envoyez-le en plusieurs pièces.",
                limit / 1_000_000
            )
        }
        Error::Unprocessable { code, .. } => match code {
            RefusalCode::PasswordProtected => "Le PDF est protégé par un mot de passe : retirez-le (imprimez le \
                                               document à nouveau en PDF), puis renvoyez-le."
                .into(),
            RefusalCode::Encrypted => {
                "Le PDF est chiffré et ne peut pas être ouvert : envoyez une copie non protégée.".into()
            }
            RefusalCode::BrokenPdf | RefusalCode::NoPages => {
                "Le PDF est endommagé et ne peut pas être lu : renvoyez-le ou imprimez-le à nouveau en PDF.".into()
            }
            RefusalCode::TooManyPages => "Le document a trop de pages : envoyez-le en plusieurs pièces.".into(),
            RefusalCode::TooLarge => {
                "L'image ou la page est trop grande : envoyez-la à une résolution plus basse.".into()
            }
            RefusalCode::BrokenImage | RefusalCode::UnsupportedTiff => {
                "Une image ne peut pas être lue : la photo est endommagée, ou le fichier n'est pas ce que son nom \
                 annonce (une « photo HEIC » qui n'en est pas une, par exemple). Reprenez la photo, ou envoyez-la \
                 en JPEG ou en PDF."
                    .into()
            }
            RefusalCode::RenderFailed | RefusalCode::UnreadableDocument => {
                "Le document n'a pas pu être lu en toute sécurité : vérifiez le fichier ou imprimez-le à nouveau \
                 en PDF."
                    .into()
            }
            RefusalCode::DossierFull => "Le dossier contient déjà le maximum de pièces ou de pages : voyez avec \
                                         votre guichet pour retirer les pièces périmées."
                .into(),
        },
        Error::Forbidden(_) => {
            "Le formulaire a expiré ou cette action ne vous est pas permise : rechargez la page.".into()
        }
        other => fr::sentence(other),
    }
}

/// What the file field offers to pick: the types intake reads.
const ACCEPTED: &str = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.heic,.heif,\
                        application/pdf,image/jpeg,image/png,image/tiff,image/heic,image/heif";

/// The form that uploads a piece to `action`, an error tied to its file
/// field: one file, or the photos of a document's pages, each turnable.
pub fn upload_form(
    action: &str,
    session: &Session,
    catalogue: &crate::domain::catalogue::Catalogue,
    error: Option<&str>,
) -> Markup {
    html! {
        form.dnu-form method="post" action=(action) enctype="multipart/form-data" data-progress {
            input type="hidden" name="csrf" value=(session.csrf());
            div.fr-select-group {
                label.fr-label for="kind" { "Type de pièce" }
                select.fr-select id="kind" name="kind" required {
                    @for k in &catalogue.kinds { option value=(k.code) { (k.label) } }
                }
            }
            div.fr-upload-group.fr-input-group--error[error.is_some()] {
                label.fr-label for="file" {
                    "Fichier ou photos"
                    span.fr-hint-text {
                        "PDF, photo JPEG, HEIC ou PNG, ou TIFF. Un document photographié page par page : "
                        "choisissez toutes ses photos, elles forment une seule pièce."
                    }
                }
                input.fr-upload id="file" name="file" type="file" required multiple
                    accept=(ACCEPTED)
                    aria-describedby=[error.map(|_| "erreur-fichier")]
                    aria-invalid=[error.map(|_| "true")];
                @if let Some(e) = error {
                    div.fr-messages-group {
                        p.fr-message.fr-message--error id="erreur-fichier" role="alert" { (e) }
                    }
                }
            }
            // Without JavaScript, turns are typed; with it, upload.js
            // replaces this field by a list of the photos to order and turn.
            div.fr-input-group data-turns {
                label.fr-label for="rotate" {
                    "Pivoter des photos (facultatif)"
                    span.fr-hint-text {
                        "Pour chaque photo, dans l'ordre : 0, 90, 180 ou 270 degrés dans le sens des aiguilles "
                        "d'une montre, séparés par des virgules (par exemple 0,90,0)."
                    }
                }
                input.fr-input id="rotate" name="rotate" type="text" inputmode="numeric" autocomplete="off"
                    pattern=" *(0|90|180|270)( *, *(0|90|180|270))* *";
            }
            button.fr-btn type="submit" { "Déposer la pièce" }
        }
    }
}

/// The attestation's identifier and code, with an error tied to both
/// fields if any: the sign-in form, and FranceConnect's first link.
pub fn attestation_form(action: &str, error_id: &str, error: Option<&str>, identifier: &str, submit: &str) -> Markup {
    html! {
        @if let Some(e) = error { (alert_error(Some(error_id), e)) }
        form.dnu-form method="post" action=(action) {
            div.fr-input-group.fr-input-group--error[error.is_some()] {
                label.fr-label for="identifier" {
                    "Identifiant"
                    span.fr-hint-text { "Il figure sur votre attestation, par exemple DNU-ABCD2345." }
                }
                input.fr-input.fr-input--error[error.is_some()] id="identifier" name="identifier" type="text"
                    autocomplete="username" required value=(identifier)
                    aria-describedby=[error.map(|_| error_id)] aria-invalid=[error.map(|_| "true")];
            }
            div.fr-input-group.fr-input-group--error[error.is_some()] {
                label.fr-label for="code" { "Code personnel" }
                input.fr-input.fr-input--error[error.is_some()] id="code" name="code" type="password"
                    autocomplete="current-password" required
                    aria-describedby=[error.map(|_| error_id)] aria-invalid=[error.map(|_| "true")];
            }
            button.fr-btn type="submit" { (submit) }
        }
    }
}

/// Pages that need a session send the browser to the sign-in page.
pub fn to_sign_in() -> Response {
    Redirect::to("/?session=expiree").into_response()
}

/// `?depose=1`: the page after a successful upload says so.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Deposited {
    depose: Option<String>,
    /// `?renouvelee=1`: the applicant renewed their demand.
    renouvelee: Option<String>,
    /// `?coordonnees=1`: the applicant changed their contact details.
    coordonnees: Option<String>,
    /// `?situation=1`: the pieces the situation calls for were declared.
    situation: Option<String>,
}

impl Deposited {
    pub fn flash(&self) -> Option<&'static str> {
        if self.renouvelee.is_some() {
            return Some("Votre demande est renouvelée pour un an.");
        }
        if self.situation.is_some() {
            return Some("La liste des pièces que la situation demande est enregistrée.");
        }
        if self.coordonnees.is_some() {
            return Some("Vos coordonnées sont enregistrées : les avis vous seront adressés ainsi.");
        }
        self.depose.is_some().then_some("La pièce a été déposée.")
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

impl CsrfForm {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn sign_out(
    axum::extract::State(vault): axum::extract::State<Vault>,
    MaybeSession(session): MaybeSession,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, Error> {
    let mut resp = Redirect::to("/").into_response();
    if let Some(s) = session {
        s.check_csrf(&form.csrf)?;
        let hash = sha256(s.token.as_bytes());
        // The local session ends first, whatever the provider answers.
        let (kind, id_token, home) = match s.principal {
            Principal::Applicant { .. } => {
                (ProviderKind::FranceConnect, vault.db().applicant_signed_out(&hash).await?, "/")
            }
            Principal::Agent(_) => (ProviderKind::ProConnect, vault.db().agent_session_close(&hash).await?, "/agent"),
        };
        resp = Redirect::to(home).into_response();
        if let Some(id_token) = id_token
            && let Some(out) = crate::signin::logout(&vault, kind, &id_token).await?
        {
            resp = signin::to_provider(&out);
        }
    }
    resp.headers_mut().append(header::SET_COOKIE, session_cookie(None));
    Ok(resp)
}

/// A piece's validity today, in French (the same words on every face).
pub(crate) fn validity_words(p: &crate::pieces::PieceSummary) -> String {
    let until = p.valid_until.as_deref().and_then(|d| crate::clock::parse_iso_date(d).ok());
    crate::domain::PieceValidity::words(until, crate::clock::today())
}

/// A page's form. A body that is not the form (another content type, a
/// field missing or malformed, which only a hand-made request sends) is
/// answered with a page saying so, in French, with axum's status (415,
/// 422, 400): never the plain-text refusal axum writes for an API.
pub struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<Vault> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, vault: &Vault) -> Result<Self, Response> {
        match axum::Form::<T>::from_request(req, vault).await {
            Ok(axum::Form(form)) => Ok(Self(form)),
            Err(rejection) => {
                let main = html! {
                    h1 { "Formulaire incomplet" }
                    (alert_error(None, "Ce formulaire est arrivé incomplet ou mal formé. Revenez à la page précédente, \
                                        rechargez-la et envoyez-le à nouveau."))
                };
                Err((rejection.status(), page(vault, "Formulaire incomplet", None, main)).into_response())
            }
        }
    }
}

/// A refusal in the API's shape (`{"error": {"code", "message"}}`) turned
/// into a page saying it in French, with the same status, headers
/// (`Retry-After`) and extensions (the failure the metrics count): for a
/// page's handler that let an API error through.
pub async fn error_page(vault: &Vault, res: Response) -> Response {
    let status = res.status();
    let (parts, body) = res.into_parts();
    // An error body is a few hundred bytes; more is not one of ours.
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let (code, message) =
        (v["error"]["code"].as_str().unwrap_or_default(), v["error"]["message"].as_str().unwrap_or_default());
    let title = match status.as_u16() {
        404 => "Page introuvable",
        410 => "Dossier effacé",
        401 | 403 => "Accès refusé",
        429 | 503 => "Service momentanément indisponible",
        500.. => "Erreur du service",
        _ => "Demande invalide",
    };
    let text = fr::refusal_of(status.as_u16(), code, message);
    let mut sentence = text.chars();
    let text: String = sentence.next().map(|f| f.to_uppercase().chain(sentence).collect()).unwrap_or_default();
    let main = html! {
        h1 { (title) }
        (alert_error(None, &text))
        p { a.fr-link href="/" { "Revenir à l'accueil" } }
    };
    let mut out = (status, page(vault, title, None, main)).into_response();
    if let Some(v) = parts.headers.get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    *out.extensions_mut() = parts.extensions;
    out
}
