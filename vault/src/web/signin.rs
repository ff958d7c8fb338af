//! The pages of a sign-in through an identity provider: the start (a
//! redirect to the provider with the attempt's cookie) and the return,
//! which opens the page session or says, in French, why not and whom to
//! ask. A refusal never leaves a session behind, and the attempt's cookie
//! is cleared either way.

use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::{page, session_cookie_for};
use crate::{
    app::Vault,
    config::ProviderKind,
    oidc::Failure,
    signin::{self, ATTEMPT_COOKIE, ATTEMPT_S, Callback, Refusal},
};

/// `__Host-`: Secure, this host only, the whole path. `SameSite=Lax`, not
/// `Strict`: the provider's redirect back is a cross-site navigation.
fn attempt_cookie(handle: &str, max_age: u32) -> HeaderValue {
    let v = format!("__Host-{ATTEMPT_COOKIE}={handle}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("__Host-dnu_connexion=; Path=/; Secure; Max-Age=0"))
}

fn attempt_handle(headers: &HeaderMap) -> Option<String> {
    let name = format!("__Host-{ATTEMPT_COOKIE}");
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The ProConnect button and its "what is it" link, as the State's
/// guidelines show it.
pub fn proconnect_button() -> Markup {
    html! {
        div.proconnect {
            form method="get" action=(ProviderKind::ProConnect.start_path()) {
                button type="submit" class="proconnect-button" { "S'identifier avec ProConnect" }
            }
            p {
                a href="https://www.proconnect.gouv.fr/" target="_blank" rel="noopener"
                    title="Qu'est-ce que ProConnect ? - nouvelle fenêtre" { "Qu'est-ce que ProConnect ?" }
            }
        }
    }
}

pub async fn proconnect_start(State(vault): State<Vault>) -> Response {
    match signin::start(&vault, ProviderKind::ProConnect).await {
        Ok(started) => {
            let mut resp = Redirect::to(&started.url).into_response();
            resp.headers_mut().insert(header::SET_COOKIE, attempt_cookie(&started.handle, ATTEMPT_S));
            resp
        }
        Err(r) => refusal_page(ProviderKind::ProConnect, r),
    }
}

pub async fn proconnect_return(
    State(vault): State<Vault>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let handle = attempt_handle(&headers);
    let mut resp = match signin::agent::finish(&vault, handle.as_deref(), &callback).await {
        Ok(s) => {
            let mut resp = Redirect::to("/dossiers").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie_for(&s.token, signin::agent::SESSION_S));
            resp
        }
        Err(r) => refusal_page(ProviderKind::ProConnect, r),
    };
    resp.headers_mut().append(header::SET_COOKIE, attempt_cookie("", 0));
    resp
}

/// Who to ask, on every refusal.
const ASK: &str = "le gestionnaire du fichier partagé de votre territoire";

/// The page that says why a sign-in ended without a session.
fn refusal_page(kind: ProviderKind, refusal: Refusal) -> Response {
    let provider = kind.label();
    let retry = html! { p { a href=(if kind == ProviderKind::ProConnect { "/agent" } else { "/" }) { "Revenir à la page de connexion" } } };
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
    let main = html! { h1 { (title) } div role="alert" { (body) } (retry) };
    (status, page(title, None, main)).into_response()
}
