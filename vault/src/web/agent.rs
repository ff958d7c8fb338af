//! The agents' pages: sign-in, and the list — a guichet finds or registers
//! a demand (communes by name, the pieces its situation calls for) and
//! sees the demands to chase; a bailleur sees the worklist of its
//! territory, each dossier with its completeness. One dossier's page is
//! `super::dossier`. What each may do is the policy's decision, as in the
//! API.
//!
//! Agents sign in here with ProConnect (`super::signin`) or, where the
//! operator leaves it open, with their access token; either way they get a
//! page session of eight hours, whose
//! own random token the cookie carries (`HttpOnly`, `Secure`,
//! `SameSite=Strict`) — never the access token — and which signing out ends.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{AgentSession, MaybeSession, Session, completeness, fr, page, session_cookie_for};
use crate::{
    app::Vault,
    auth::{Carrier, Principal, TokenKind},
    domain::{
        ContactFields,
        completeness::Status,
        geo::{self, Found},
    },
    dossiers::{RegisterInput, WorklistQuery, register_dossier, worklist_of},
    error::Error,
};

use crate::signin::agent::SESSION_S;

/// The agent's session, or `None` for an applicant or nobody.
fn agent(session: Option<Session>) -> Option<Session> {
    session.filter(|s| matches!(s.principal, Principal::Agent(_)))
}

fn sign_in_page(vault: &Vault, error: Option<&str>) -> Markup {
    let signin = &vault.config().signin;
    html! {
        h1 { "Espace des agents" }
        @if signin.proconnect.is_some() {
            p { "Connectez-vous avec le compte professionnel de votre organisme." }
            (super::signin::provider_button(crate::config::ProviderKind::ProConnect))
        }
        @if signin.agent_token_signin {
            @if signin.proconnect.is_some() { h2 { "Ou avec un jeton d'accès" } }
            p { "Connectez-vous avec le jeton d'accès remis par le gestionnaire du fichier partagé." }
            @if let Some(e) = error { (super::alert_error(Some("erreur-jeton"), e)) }
            form.dnu-form method="post" action="/agent/connexion" {
                div.fr-input-group.fr-input-group--error[error.is_some()] {
                    label.fr-label for="token" { "Jeton d'accès" span.fr-hint-text { "Il commence par dnuv_." } }
                    input.fr-input.fr-input--error[error.is_some()] id="token" name="token" type="password" required
                        autocomplete="off" aria-describedby=[error.map(|_| "erreur-jeton")]
                        aria-invalid=[error.map(|_| "true")];
                }
                button.fr-btn type="submit" { "Se connecter" }
            }
        }
        @if signin.proconnect.is_none() && !signin.agent_token_signin {
            (super::alert_error(None, "Aucun moyen de connexion n'est ouvert sur ce service. Prévenez le gestionnaire du fichier partagé."))
        }
    }
}

pub async fn home(State(vault): State<Vault>, MaybeSession(session): MaybeSession) -> Response {
    if agent(session).is_some() {
        return Redirect::to("/dossiers").into_response();
    }
    page(&vault, "Connexion agent", None, sign_in_page(&vault, None)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    token: String,
}

pub async fn sign_in(
    State(vault): State<Vault>,
    headers: axum::http::HeaderMap,
    super::PageForm(form): super::PageForm<TokenForm>,
) -> Result<Response, Error> {
    if !super::from_own_pages(&headers) {
        return Ok(super::foreign_form(&vault));
    }
    if !vault.config().signin.agent_token_signin {
        let main = html! {
            h1 { "Connexion par jeton fermée" }
            (super::alert_error(None, "Sur ce service, les agents se connectent avec ProConnect."))
            p { a.fr-link href="/agent" { "Revenir à la page de connexion" } }
        };
        return Ok((StatusCode::FORBIDDEN, page(&vault, "Connexion par jeton fermée", None, main)).into_response());
    }
    let token = form.token.trim();
    match Principal::from_token(&vault, token, Carrier::SignInForm, None).await {
        Ok(Principal::Agent(a)) => {
            // The cookie holds a session of its own, never the access token.
            let (session, hash) = TokenKind::AgentSession.mint()?;
            let expires = crate::clock::now_ms() + i64::from(SESSION_S) * 1000;
            vault.db().agent_session_open(a.agent.id, &hash, expires).await?;
            tracing::info!(agent.id = %a.agent.id, "agent signed in to the pages");
            let mut resp = Redirect::to("/dossiers").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie_for(&session, SESSION_S));
            Ok(resp)
        }
        Ok(Principal::Applicant { .. }) | Err(Error::Unauthenticated(_)) => Ok((
            StatusCode::UNAUTHORIZED,
            page(
                &vault,
                "Connexion impossible",
                None,
                sign_in_page(&vault, Some("Jeton inconnu, révoqué ou désactivé.")),
            ),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    nu: Option<String>,
    /// `complet` or `incomplet`: the list's completeness filter.
    completude: Option<String>,
}

pub async fn list(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    crate::query::Query(q): crate::query::Query<ListQuery>,
) -> Result<Response, Error> {
    if let Some(nu) = q.nu.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        // Only a well-formed number goes into the address it redirects to.
        return Ok(match crate::domain::NumeroUnique::parse(&nu.to_ascii_uppercase()) {
            Ok(nu) => Redirect::to(&format!("/dossiers/{nu}")).into_response(),
            Err(_) => {
                let notice = super::alert_error(
                    Some("erreur-nu"),
                    "Numéro unique invalide : il compte 18 caractères, par exemple 059122600000001AB.",
                );
                let notice = Notice { markup: notice, register_error: false };
                (StatusCode::UNPROCESSABLE_ENTITY, list_page(&vault, &session, Some(notice), None).await?)
                    .into_response()
            }
        });
    }
    let filter = match q.completude.as_deref() {
        Some("complet") => Some(Status::Complete),
        Some("incomplet") => Some(Status::Incomplete),
        _ => None,
    };
    Ok(list_page(&vault, &session, None, filter).await?.into_response())
}

/// What the list page shows above its sections: a notice, and whether it
/// is the registration form's error (tied to its fields).
struct Notice {
    markup: Markup,
    register_error: bool,
}

async fn list_page(
    vault: &Vault,
    session: &Session,
    notice: Option<Notice>,
    completeness: Option<Status>,
) -> Result<axum::response::Html<String>, Error> {
    let register_error = notice.as_ref().is_some_and(|n| n.register_error);
    let q = WorklistQuery {
        limit: Some(200),
        completeness: completeness.map(|c| c.as_str().to_owned()),
        ..WorklistQuery::default()
    };
    let items = worklist_of(vault, &session.principal, q).await?.items;
    let catalogue = crate::domain::catalogue::shipped().map_err(|e| Error::Config(e.to_owned()))?;
    let Principal::Agent(a) = &session.principal else { return Err(Error::Forbidden("agents only".into())) };
    // The relance list, for the organisations that register demands.
    let (due, letters) = if a.organisation.registering {
        let q = WorklistQuery { due: Some("renewal".into()), limit: Some(200), ..WorklistQuery::default() };
        (
            Some(worklist_of(vault, &session.principal, q).await?.items),
            Some(super::letters::section(vault, session).await?),
        )
    } else {
        (None, None)
    };
    let main = html! {
        h1 { "Dossiers — " (a.organisation.name) }
        @if let Some(n) = notice { (n.markup) }
        form.dnu-form method="get" action="/dossiers" role="search" {
            div.fr-input-group {
                label.fr-label for="nu" { "Rechercher un dossier par numéro unique" span.fr-hint-text { "18 caractères, par exemple 059122600000001AB" } }
                input.fr-input id="nu" name="nu" type="text" maxlength="18" autocomplete="off";
            }
            button.fr-btn.fr-btn--secondary type="submit" { "Ouvrir le dossier" }
        }
        @if a.organisation.registering {
            h2 { "Enregistrer une demande" }
            form.dnu-form method="post" action="/dossiers" {
                input type="hidden" name="csrf" value=(session.csrf());
                div.fr-input-group {
                    label.fr-label for="communes" {
                        "Communes souhaitées"
                        span.fr-hint-text { "Noms ou codes INSEE, séparés par des virgules (par exemple : Dunkerque, Coudekerque-Branche)." }
                    }
                    input.fr-input id="communes" name="communes" type="text" required autocomplete="off" list="communes-connues"
                        aria-describedby=[register_error.then_some("erreur-enregistrement")]
                        aria-invalid=[register_error.then_some("true")];
                    // The browser completes the communes of the guichet's
                    // territory by name, without JavaScript.
                    datalist id="communes-connues" {
                        @for c in geo::communes_within(&a.organisation.territory) {
                            option value=(c.name) label=(format!("{} — {}", c.code, c.postcodes.join(", "))) {}
                        }
                    }
                }
                div.fr-input-group {
                    label.fr-label for="email" { "Adresse électronique du demandeur (facultative)" }
                    input.fr-input id="email" name="email" type="email" autocomplete="off";
                }
                div.fr-input-group {
                    label.fr-label for="adresse" {
                        "Adresse postale du demandeur"
                        span.fr-hint-text { "Une ligne par ligne d'adresse : nom, voie, code postal et commune." }
                    }
                    textarea.fr-input id="adresse" name="adresse" rows="4" {}
                }
                (completeness::kinds_fieldset(catalogue, &[]))
                button.fr-btn type="submit" { "Enregistrer la demande" }
            }
        }
        @if let Some(due) = &due {
            h2 { "Demandes à renouveler dans les 31 jours (" (due.len()) ")" }
            @if due.is_empty() {
                p { "Aucune demande enregistrée par votre organisme n'arrive à échéance d'ici 31 jours." }
            } @else {
                (super::table("a-renouveler", "Demandes enregistrées par votre organisme, à relancer avant leur radiation",
                    &["Numéro unique", "Valable jusqu'au", "Avis de renouvellement"], html! {
                    @for d in due {
                        tr {
                            td { a.fr-link href=(format!("/dossiers/{}", d.numero_unique)) { (d.numero_unique) } }
                            td { (fr::date_str(&d.valid_until)) }
                            td {
                                @match &d.notice {
                                    Some(n) => {
                                        "envoyé le " (fr::date_str(&n.issued_on)) " ("
                                        (n.channels.iter().map(|c| if *c == "email" { "courriel" } else { "courrier" }).collect::<Vec<_>>().join(", "))
                                        ")"
                                    }
                                    None => "pas encore émis",
                                }
                            }
                        }
                    }
                }))
            }
        }
        @if let Some(l) = letters { (l) }
        h2 { "Dossiers de votre territoire (" (items.len()) ")" }
        form.dnu-form method="get" action="/dossiers" {
            div.fr-select-group {
                label.fr-label for="completude" { "Afficher les dossiers" }
                select.fr-select id="completude" name="completude" {
                    option value="" selected[completeness.is_none()] { "complets et incomplets" }
                    option value="complet" selected[completeness == Some(Status::Complete)] { "complets seulement" }
                    option value="incomplet" selected[completeness == Some(Status::Incomplete)] { "incomplets seulement" }
                }
            }
            button.fr-btn.fr-btn--secondary.fr-btn--sm type="submit" { "Filtrer la liste" }
        }
        (super::table("dossiers", "Dossiers que votre organisme peut consulter",
            &["Numéro unique", "Communes", "Déposée le", "Valable jusqu'au", "État", "Complétude"], html! {
            @for d in &items {
                tr {
                    td { a.fr-link href=(format!("/dossiers/{}", d.numero_unique)) { (d.numero_unique) } }
                    td { (d.communes.join(", ")) }
                    td { (fr::date_str(&d.deposited_on)) }
                    td { (fr::date_str(&d.valid_until)) }
                    td {
                        @if d.status == "active" { p.fr-badge.fr-badge--sm.fr-badge--info { "active" } }
                        @else { p.fr-badge.fr-badge--sm { "radiée" } }
                    }
                    td { (completeness::badge(d.completeness)) }
                }
            }
        }))
    };
    Ok(page(vault, "Dossiers", Some(session), main))
}

/// The communes an agent typed (names, INSEE codes, or postcodes that are
/// no INSEE code), as INSEE codes; and, in French, what could not be read.
fn communes_typed(typed: &str) -> (Vec<String>, Vec<String>) {
    let (mut codes, mut unknown) = (Vec::new(), Vec::new());
    for item in typed.split([',', ';', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        match geo::find(item) {
            Found::One(c) => codes.push(c.code.to_owned()),
            Found::Several(v) => {
                let some: Vec<String> = v
                    .iter()
                    .take(6)
                    .map(|c| format!("{} ({}, code INSEE {})", c.name, c.departement, c.code))
                    .collect();
                unknown.push(format!(
                    "« {item} » désigne plusieurs communes ({}{}) : donnez son code INSEE",
                    some.join(", "),
                    if v.len() > 6 { ", …" } else { "" }
                ));
            }
            Found::Nothing => unknown.push(format!("« {item} » n'est ni le nom ni le code d'une commune actuelle")),
        }
    }
    (codes, unknown)
}

/// The registration form's fields (its checkboxes come as `attendue_<code>`,
/// hence pairs rather than a struct).
pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

pub async fn register(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    super::PageForm(fields): super::PageForm<Vec<(String, String)>>,
) -> Result<Response, Error> {
    session.check_csrf(field(&fields, "csrf"))?;
    let (communes, unknown) = communes_typed(field(&fields, "communes"));
    if !unknown.is_empty() {
        let notice = super::alert_error(
            Some("erreur-enregistrement"),
            &format!("Enregistrement impossible : {}", unknown.join(" ; ")),
        );
        let notice = Notice { markup: notice, register_error: true };
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, list_page(&vault, &session, Some(notice), None).await?).into_response()
        );
    }
    let (email, adresse) = (field(&fields, "email").trim(), field(&fields, "adresse"));
    // Registered at the counter: not online, so the notices go by post
    // (and by e-mail too when given, CCH R.441-2-7).
    let contact = (!email.is_empty() || !adresse.trim().is_empty()).then(|| ContactFields {
        email: Some(email.to_owned()).filter(|e| !e.is_empty()),
        postal_address: adresse.lines().map(str::to_owned).collect(),
        online: false,
        wants_post: false,
    });
    let expected = completeness::ticked(&fields);
    let input = RegisterInput { communes, contact, expected, ..RegisterInput::default() };
    match register_dossier(&vault, &session.principal, input).await {
        Ok(r) => {
            let nu = r.dossier.numero_unique.clone();
            let names: Vec<String> = r
                .dossier
                .communes
                .iter()
                .map(|c| geo::commune(c).map_or_else(|| c.clone(), |g| format!("{} ({c})", g.name)))
                .collect();
            let notice = html! {
                div.fr-alert.fr-alert--success role="status" {
                    h2.fr-alert__title { "Demande enregistrée : " a href=(format!("/dossiers/{nu}")) { (nu) } }
                    p #communes-enregistrees { "Communes souhaitées : " (names.join(", ")) }
                    p { "À reporter sur l'attestation du demandeur (affiché une seule fois) : identifiant "
                        strong.dnu-key #identifiant { (r.applicant.identifier) } ", code personnel "
                        strong.dnu-key #code-personnel { (r.applicant.code) } }
                }
            };
            let notice = Notice { markup: notice, register_error: false };
            Ok((StatusCode::CREATED, list_page(&vault, &session, Some(notice), None).await?).into_response())
        }
        Err(e @ (Error::Invalid(_) | Error::Forbidden(_) | Error::Refused { .. })) => {
            let status = e.status();
            let notice = super::alert_error(
                Some("erreur-enregistrement"),
                &format!("Enregistrement impossible : {}", fr::refusal(&e)),
            );
            let notice = Notice { markup: notice, register_error: true };
            Ok((status, list_page(&vault, &session, Some(notice), None).await?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_are_typed_by_name_or_code_and_refused_in_french() {
        let (codes, unknown) = communes_typed("Dunkerque, coudekerque branche ; 62193,80000");
        assert_eq!(codes, ["59183", "59155", "62193", "80021"]);
        assert!(unknown.is_empty());
        let (codes, unknown) = communes_typed("Dunkerk, Sainte-Marie, 99999");
        assert!(codes.is_empty());
        assert_eq!(unknown[0], "« Dunkerk » n'est ni le nom ni le code d'une commune actuelle");
        assert!(
            unknown[1].starts_with("« Sainte-Marie » désigne plusieurs communes (")
                && unknown[1].ends_with("donnez son code INSEE")
        );
        assert!(unknown[2].starts_with("« 99999 »"));
    }
}
