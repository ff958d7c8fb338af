//! The pages of a sign-in through an identity provider: the start (a
//! redirect to the provider with the attempt's cookie) and the return,
//! which opens the page session or says, in French, why not and whom to
//! ask. A refusal never leaves a session behind, and the attempt's cookie
//! is cleared either way.

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::{cookie_value, host_cookie, page, session_cookie_for};
use crate::{
    app::Vault,
    config::ProviderKind,
    oidc::Failure,
    signin::{
        self, ATTEMPT_COOKIE, ATTEMPT_S, Callback, Refusal, Started,
        applicant::{Arrived, LinkRefusal},
    },
};

/// `__Host-`: Secure, this host only, the whole path. `SameSite=Lax`, not
/// `Strict`: the provider's redirect back is a cross-site navigation.
fn attempt_cookie(handle: &str, max_age: u32) -> HeaderValue {
    host_cookie(&format!("__Host-{ATTEMPT_COOKIE}"), handle, "Lax", max_age)
}

fn attempt_handle(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, &format!("__Host-{ATTEMPT_COOKIE}"))
}

/// A provider's button and its "what is it" link, as the State's
/// guidelines show them.
pub fn provider_button(kind: ProviderKind) -> Markup {
    let (name, about) = match kind {
        ProviderKind::ProConnect => ("proconnect", "https://www.proconnect.gouv.fr/"),
        ProviderKind::FranceConnect => ("franceconnect", "https://franceconnect.gouv.fr/"),
    };
    let what = format!("Qu'est-ce que {} ?", kind.label());
    html! {
        div class=(format!("fr-connect-group {name}")) {
            form method="get" action=(kind.start_path()) {
                @match kind {
                    ProviderKind::FranceConnect => {
                        button.fr-connect.franceconnect-button type="submit" {
                            span.fr-connect__login { "S'identifier avec" } " " span.fr-connect__brand { "FranceConnect" }
                        }
                    }
                    ProviderKind::ProConnect => {
                        button.fr-btn.proconnect-button type="submit" { "S'identifier avec ProConnect" }
                    }
                }
            }
            p { a.fr-link href=(about) target="_blank" rel="noopener" title=(format!("{what} - nouvelle fenêtre")) { (what) } }
        }
    }
}

/// Sends the browser to its provider, the attempt's handle in its cookie.
pub fn to_provider(started: &Started) -> Response {
    let mut resp = Redirect::to(&started.url).into_response();
    resp.headers_mut().append(header::SET_COOKIE, attempt_cookie(&started.handle, ATTEMPT_S));
    resp
}

async fn start(vault: &Vault, kind: ProviderKind) -> Response {
    match signin::start(vault, kind).await {
        Ok(started) => to_provider(&started),
        Err(r) => refusal_page(vault, kind, r),
    }
}

pub async fn proconnect_start(State(vault): State<Vault>) -> Response {
    start(&vault, ProviderKind::ProConnect).await
}

pub async fn franceconnect_start(State(vault): State<Vault>) -> Response {
    start(&vault, ProviderKind::FranceConnect).await
}

pub async fn proconnect_return(
    State(vault): State<Vault>,
    headers: HeaderMap,
    crate::query::Query(callback): crate::query::Query<Callback>,
) -> Response {
    let handle = attempt_handle(&headers);
    let mut resp = match signin::agent::finish(&vault, handle.as_deref(), &callback).await {
        Ok(s) => {
            let mut resp = Redirect::to("/dossiers").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie_for(&s.token, signin::agent::SESSION_S));
            resp
        }
        Err(r) => refusal_page(&vault, ProviderKind::ProConnect, r),
    };
    resp.headers_mut().append(header::SET_COOKIE, attempt_cookie("", 0));
    resp
}

/// Who to ask, on every refusal.
const ASK: &str = "le gestionnaire du fichier partagé de votre territoire";

/// The page that says why a sign-in ended without a session.
fn refusal_page(vault: &Vault, kind: ProviderKind, refusal: Refusal) -> Response {
    let provider = kind.label();
    let retry = html! { p { a.fr-link href=(if kind == ProviderKind::ProConnect { "/agent" } else { "/" }) { "Revenir à la page de connexion" } } };
    let (status, title, body): (StatusCode, &str, Markup) = match refusal {
        Refusal::Internal(e) => return e.into_response(),
        Refusal::NotConfigured(_) => (
            StatusCode::NOT_FOUND,
            "Connexion indisponible",
            html! { p { "La connexion par " (provider) " n'est pas proposée par ce service." } },
        ),
        Refusal::Protocol(Failure::Cancelled) => (
            StatusCode::UNAUTHORIZED,
            "Connexion annulée",
            html! { p { "Vous avez annulé la connexion chez " (provider) ". Vous n'êtes pas connecté." } },
        ),
        Refusal::Protocol(Failure::Unreachable | Failure::Malformed(_) | Failure::Provider(_) | Failure::Setup(_)) => (
            StatusCode::BAD_GATEWAY,
            "Service de connexion injoignable",
            html! {
                p { (provider) " ne répond pas ou a répondu d'une façon que ce service ne comprend pas. Vous n'êtes pas connecté." }
                p { "Réessayez dans quelques minutes. Si le problème continue, prévenez " (ASK) "." }
            },
        ),
        Refusal::Protocol(Failure::WeakAcr(_)) => (
            StatusCode::FORBIDDEN,
            "Niveau d'authentification insuffisant",
            html! {
                p { "Le moyen d'authentification utilisé chez " (provider) " n'est pas d'un niveau suffisant pour ce service." }
                p { "Reconnectez-vous avec un moyen plus fort (par exemple une authentification à deux facteurs), ou demandez conseil à " (ASK) "." }
            },
        ),
        Refusal::Protocol(
            Failure::NoAttempt | Failure::StateMismatch | Failure::CodeRefused | Failure::Token { .. },
        ) => (
            StatusCode::BAD_REQUEST,
            "Connexion refusée",
            html! {
                p { "La réponse de " (provider) " n'a pas pu être vérifiée : la connexion a expiré, a déjà été utilisée, ou ne vient pas de ce navigateur. Vous n'êtes pas connecté." }
                p { "Recommencez la connexion depuis la page de connexion. Si cela se reproduit, prévenez " (ASK) "." }
            },
        ),
        Refusal::NotInvited => (
            StatusCode::FORBIDDEN,
            "Accès non autorisé",
            html! {
                p { "Votre compte " (provider) " n'est associé à aucun agent invité sur ce service." }
                p { "Demandez à " (ASK) " de vous inviter avec l'adresse électronique de votre compte " (provider) "." }
            },
        ),
        Refusal::OtherAccount => (
            StatusCode::FORBIDDEN,
            "Adresse déjà utilisée",
            html! {
                p { "L'agent invité avec votre adresse électronique est déjà lié à un autre compte " (provider) "." }
                p { "Si vous avez changé de compte, demandez à " (ASK) " de renouveler votre invitation." }
            },
        ),
        Refusal::Siren { organisation } => (
            StatusCode::FORBIDDEN,
            "Organisme non reconnu",
            html! {
                p { "L'établissement (SIRET) transmis par " (provider) " n'appartient pas à votre organisme, " (organisation) "." }
                p { "Vérifiez l'établissement choisi lors de la connexion, ou demandez à " (ASK) " d'accepter ce SIRET pour votre organisme." }
            },
        ),
        Refusal::Disabled => (
            StatusCode::FORBIDDEN,
            "Compte désactivé",
            html! { p { "Votre accès à ce service a été désactivé. Pour le retrouver, adressez-vous à " (ASK) "." } },
        ),
    };
    let main = html! { h1 { (title) } div.fr-alert.fr-alert--error role="alert" { (body) } (retry) };
    (status, page(vault, title, None, main)).into_response()
}

/// The provider's redirect after its logout: the local session had ended
/// before; the state says whether this is the logout this browser asked for.
async fn logged_out(vault: Vault, kind: ProviderKind, headers: HeaderMap, state: Option<String>) -> Response {
    let handle = attempt_handle(&headers);
    let checked = signin::logged_out(&vault, kind, handle.as_deref(), state.as_deref()).await;
    let back = if kind == ProviderKind::ProConnect { "/agent" } else { "/" };
    let main = html! {
        h1 { "Vous êtes déconnecté" }
        (super::alert_success("Votre session sur ce service est terminée."))
        @match checked {
            Ok(true) => { p { "Vous êtes aussi déconnecté de " (kind.label()) "." } }
            _ => { p { "La réponse de " (kind.label()) " n'a pas pu être vérifiée : fermez votre navigateur si l'ordinateur est partagé." } }
        }
        p { a.fr-link href=(back) { "Revenir à la page de connexion" } }
    };
    let mut resp = page(&vault, "Déconnexion", None, main).into_response();
    resp.headers_mut().append(header::SET_COOKIE, attempt_cookie("", 0));
    resp
}

#[derive(Debug, serde::Deserialize)]
pub struct LogoutReturn {
    state: Option<String>,
}

pub async fn proconnect_logged_out(
    State(vault): State<Vault>,
    headers: HeaderMap,
    crate::query::Query(q): crate::query::Query<LogoutReturn>,
) -> Response {
    logged_out(vault, ProviderKind::ProConnect, headers, q.state).await
}

pub async fn franceconnect_logged_out(
    State(vault): State<Vault>,
    headers: HeaderMap,
    crate::query::Query(q): crate::query::Query<LogoutReturn>,
) -> Response {
    logged_out(vault, ProviderKind::FranceConnect, headers, q.state).await
}

/// Lax, like the attempt's: it is set on the provider's cross-site redirect.
fn pending_cookie(handle: &str, max_age: u32) -> HeaderValue {
    host_cookie(&format!("__Host-{}", signin::applicant::PENDING_COOKIE), handle, "Lax", max_age)
}

fn pending_handle(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, &format!("__Host-{}", signin::applicant::PENDING_COOKIE))
}

pub async fn franceconnect_return(
    State(vault): State<Vault>,
    headers: HeaderMap,
    crate::query::Query(callback): crate::query::Query<Callback>,
) -> Response {
    let handle = attempt_handle(&headers);
    let mut resp = match signin::applicant::finish(&vault, handle.as_deref(), &callback).await {
        Ok(Arrived::SignedIn(s)) => {
            let mut resp = Redirect::to("/mon-dossier").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, super::session_cookie(Some(&s.token)));
            resp
        }
        Ok(Arrived::MustLink { handle }) => {
            let mut resp = Redirect::to(LINK_PATH).into_response();
            resp.headers_mut().insert(header::SET_COOKIE, pending_cookie(&handle, signin::applicant::PENDING_S));
            resp
        }
        Err(r) => refusal_page(&vault, ProviderKind::FranceConnect, r),
    };
    resp.headers_mut().append(header::SET_COOKIE, attempt_cookie("", 0));
    resp
}

/// Where a first FranceConnect sign-in asks for the attestation.
pub const LINK_PATH: &str = "/franceconnect/liaison";

fn link_page(error: Option<&str>, identifier: &str) -> Markup {
    html! {
        h1 { "Première connexion avec FranceConnect" }
        p { "FranceConnect a confirmé votre identité. Pour la lier à votre dossier, une seule fois, saisissez l'identifiant et le code personnel de votre attestation d'enregistrement. Ensuite, FranceConnect suffira." }
        (super::attestation_form(LINK_PATH, "erreur-liaison", error, identifier, "Lier mon identité FranceConnect"))
    }
}

pub async fn link_form(State(vault): State<Vault>, headers: HeaderMap) -> Response {
    if pending_handle(&headers).is_none() {
        return Redirect::to("/").into_response();
    }
    page(&vault, "Première connexion avec FranceConnect", None, link_page(None, "")).into_response()
}

#[derive(Debug, serde::Deserialize)]
pub struct LinkForm {
    identifier: String,
    code: String,
}

pub async fn link(
    State(vault): State<Vault>,
    source: crate::auth::ClientAddr,
    headers: HeaderMap,
    super::PageForm(form): super::PageForm<LinkForm>,
) -> Response {
    if !super::from_own_pages(&headers) {
        return super::foreign_form(&vault);
    }
    let handle = pending_handle(&headers);
    let outcome = signin::applicant::link(&vault, source, handle.as_deref(), &form.identifier, &form.code).await;
    let again = |status: StatusCode, message: &str| {
        (
            status,
            page(
                &vault,
                "Première connexion avec FranceConnect",
                None,
                link_page(Some(message), form.identifier.trim()),
            ),
        )
            .into_response()
    };
    let ended = |status: StatusCode, title: &str, body: Markup| {
        let main = html! {
            h1 { (title) }
            div.fr-alert.fr-alert--error role="alert" { (body) }
            p { a.fr-link href="/" { "Revenir à la page de connexion" } }
        };
        let mut resp = (status, page(&vault, title, None, main)).into_response();
        resp.headers_mut().append(header::SET_COOKIE, pending_cookie("", 0));
        resp
    };
    match outcome {
        Ok(s) => {
            let mut resp = Redirect::to("/mon-dossier").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, super::session_cookie(Some(&s.token)));
            resp.headers_mut().append(header::SET_COOKIE, pending_cookie("", 0));
            resp
        }
        Err(LinkRefusal::Credentials(crate::error::Error::Unauthenticated(_))) => {
            again(StatusCode::UNAUTHORIZED, "Identifiant ou code incorrect.")
        }
        Err(LinkRefusal::Credentials(crate::error::Error::Throttled { retry_after_s })) => again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Trop d'essais depuis cet appareil : réessayez dans {retry_after_s} seconde(s)."),
        ),
        Err(LinkRefusal::Credentials(crate::error::Error::Busy { .. })) => {
            again(StatusCode::TOO_MANY_REQUESTS, "Le service est très sollicité : réessayez dans un instant.")
        }
        Err(LinkRefusal::Credentials(e)) => e.into_response(),
        Err(LinkRefusal::NothingPending) => ended(
            StatusCode::BAD_REQUEST,
            "Connexion expirée",
            html! { p { "Le délai pour lier votre identité FranceConnect est dépassé. Reconnectez-vous avec FranceConnect." } },
        ),
        Err(LinkRefusal::ApplicantHasAnother) => ended(
            StatusCode::CONFLICT,
            "Dossier déjà lié",
            html! {
                p { "Ce dossier est déjà lié à une autre identité FranceConnect." }
                p { "Connectez-vous avec votre attestation et retirez l'ancienne liaison depuis votre espace, ou demandez au guichet qui a enregistré votre demande." }
            },
        ),
        Err(LinkRefusal::IdentityTaken) => ended(
            StatusCode::CONFLICT,
            "Identité déjà liée",
            html! {
                p { "Cette identité FranceConnect est déjà liée à un autre dossier." }
                p { "Si ce n'est pas vous, adressez-vous au guichet qui a enregistré votre demande." }
            },
        ),
    }
}

pub async fn unlink(
    State(vault): State<Vault>,
    super::ApplicantSession(session): super::ApplicantSession,
    super::PageForm(form): super::PageForm<super::CsrfForm>,
) -> Result<Response, crate::error::Error> {
    session.check_csrf(form.csrf())?;
    if let crate::auth::Principal::Applicant { dossier, .. } = session.principal {
        signin::applicant::unlink(&vault, dossier).await?;
    }
    Ok(Redirect::to("/mon-dossier").into_response())
}
