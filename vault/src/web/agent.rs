//! The agents' pages: a guichet finds or registers a dossier, uploads on
//! the applicant's behalf and sees where each piece came from; a bailleur
//! sees the worklist of its territory, opens a dossier and downloads the
//! complete PDF. What each may do is the policy's decision, as in the API.
//!
//! Agents sign in here with ProConnect (`super::signin`) or, where the
//! operator leaves it open, with their access token; either way they get a
//! page session of eight hours, whose
//! own random token the cookie carries (`HttpOnly`, `Secure`,
//! `SameSite=Strict`) — never the access token — and which signing out ends.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    AgentSession, Deposited, MaybeSession, Session, completeness, fr, message_fr, page, session_cookie_for,
    shown_at_form, upload_form,
};
use crate::{
    app::Vault,
    auth::{Carrier, Principal, TokenKind},
    domain::{
        ContactFields, PieceKind,
        completeness::Status,
        geo::{self, Found},
    },
    dossiers::{RegisterInput, WorklistQuery, register_dossier, show_dossier, worklist_of},
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
    Form(form): Form<TokenForm>,
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
    Query(q): Query<ListQuery>,
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
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

pub async fn register(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Form(fields): Form<Vec<(String, String)>>,
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

pub async fn show(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    Query(q): Query<Deposited>,
) -> Result<Response, Error> {
    Ok(show_page(&vault, &session, &nu, q.flash(), None).await?.into_response())
}

async fn show_page(
    vault: &Vault,
    session: &Session,
    nu: &str,
    flash: Option<&str>,
    upload_error: Option<&str>,
) -> Result<Response, Error> {
    let view = match show_dossier(vault, &session.principal, nu).await {
        Ok(v) => v,
        Err(Error::Gone(_)) => {
            let on = match crate::domain::NumeroUnique::parse(nu) {
                Ok(n) => vault.db().dossier_by_nu(&n).await?.and_then(|d| d.purged_on),
                Err(_) => None,
            };
            let main = html! {
                (breadcrumb(nu))
                h1 { "Dossier " (nu) }
                div.fr-alert.fr-alert--info role="alert" {
                    p {
                        "Ce dossier a été effacé"
                        @if let Some(on) = on { " le " (fr::date(on)) }
                        ", un an après sa radiation, comme la loi le prévoit (décret n° 2017-917). Il n'en reste que le numéro et les dates."
                    }
                }
                p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
            };
            return Ok((StatusCode::GONE, page(vault, "Dossier effacé", Some(session), main)).into_response());
        }
        Err(e @ (Error::NotFound(_) | Error::Invalid(_) | Error::Forbidden(_) | Error::Refused { .. })) => {
            let status = e.status();
            let main = html! {
                (breadcrumb(nu))
                h1 { "Dossier " (nu) }
                (super::alert_error(None, &fr::sentence(&e)))
                p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
            };
            return Ok((status, page(vault, "Dossier inaccessible", Some(session), main)).into_response());
        }
        Err(e) => return Err(e),
    };
    let catalogue = crate::domain::catalogue::shipped().map_err(|e| Error::Config(e.to_owned()))?;
    let label = |kind: &str| catalogue.kind(kind).map_or_else(|| kind.to_owned(), |k| k.label.clone());
    let mut orgs = std::collections::HashMap::new();
    for p in &view.pieces {
        if let Some(o) = p.current.as_ref().and_then(|v| v.uploaded_by_organisation)
            && !orgs.contains_key(&o)
            && let Some(org) = vault.db().organisation(o).await?
        {
            orgs.insert(o, org.name);
        }
    }
    let zone = vault.config().notices.zone;
    let nu = &view.numero_unique;
    let registering = matches!(&session.principal, Principal::Agent(a) if a.organisation.registering);
    let main = html! {
        (breadcrumb(nu))
        h1 { "Dossier " (nu) }
        p { "Enregistré par " (view.registered_by.name) " le " (fr::date_str(&view.deposited_on)) " — valable jusqu'au " (fr::date_str(&view.valid_until))
            " — communes : " (view.communes.join(", ")) }
        @if let (Some(on), Some(reason)) = (&view.radiated_on, &view.radiation_reason) {
            div.fr-alert.fr-alert--info {
                p { strong { "Demande radiée le " (fr::date_str(on)) } " (motif : " (reason.replace('_', " ")) ")"
                    @if let Some(kept) = &view.merged_into {
                        " — réunie à la demande " a href=(format!("/dossiers/{kept}")) { (kept) } ", qui en garde les pièces et l'historique"
                    }
                    "." }
            }
        }
        @if let Some(f) = flash { (super::alert_success(f)) }
        p { a.fr-link href=(format!("/dossiers/{nu}/dossier.pdf")) { "Télécharger le dossier complet " (nu) " (PDF filigrané)" } }
        h2 { "Complétude" }
        (completeness::checklist(&view.completeness, false))
        @if registering && view.status == "active" {
            details {
                summary { "Modifier la liste des pièces que la situation demande" }
                @let declared: Vec<PieceKind> = view.completeness.expected.iter().skip(1).map(|e| e.kind).collect();
                (completeness::situation_form(&format!("/dossiers/{nu}/situation"), &session.csrf(), catalogue, &declared,
                    "Enregistrer la liste des pièces attendues"))
            }
        }
        h2 { "Pièces" }
        (super::table("pieces", "Pièces du dossier et leur provenance", &["Pièce", "Validité", "Pages", "Provenance", "Ouvrir"], html! {
            @for p in &view.pieces {
                @let name = label(&p.kind);
                tr {
                    td { (name) @if let Some(m) = &p.member { " (" (m) ")" } }
                    td {
                        (super::validity_words(p))
                        @if let Some(m) = p.current.as_ref().and_then(|v| v.mark.as_ref()) {
                            br; strong { "signalée " (m.label) } " : " (m.reason)
                        }
                    }
                    td { (p.current.as_ref().and_then(|v| v.pages).map(|n| n.to_string()).unwrap_or_default()) }
                    td {
                        @if let Some(v) = &p.current {
                            @let by = v.uploaded_by_organisation.and_then(|o| orgs.get(&o));
                            @if let Some(scan) = &v.scan {
                                "numérisée par " (by.map_or("?", |n| n.as_str()))
                                " le " (fr::moment(zone, scan.scanned_at)) " sur le poste " (scan.host)
                                " (" (scan.images_sha256.len()) " image(s) de scan, empreintes conservées)"
                            } @else {
                                "déposée par "
                                @match by {
                                    Some(name) => { (name) }
                                    None => { "le demandeur" }
                                }
                                " le " (fr::moment(zone, v.uploaded_at))
                            }
                        }
                    }
                    td {
                        @let base = format!("/dossiers/{nu}/pieces/{}", p.id);
                        ul.dnu-actions {
                            li { a.fr-link href=(format!("{base}/rendu")) { "Rendu" span.fr-sr-only { " de la pièce « " (name) " »" } } }
                            li { a.fr-link href=(format!("{base}/original")) { "Original" span.fr-sr-only { " de la pièce « " (name) " »" } } }
                        }
                    }
                }
            }
        }))
        h2 { "Imprimer une feuille de séparation" }
        form.dnu-form method="get" action=(format!("/dossiers/{nu}/feuille.pdf")) {
            div.fr-select-group {
                label.fr-label for="sheet-kind" { "Type des pièces qui suivront la feuille" }
                select.fr-select id="sheet-kind" name="kind" required {
                    @for k in &catalogue.kinds { option value=(k.code) { (k.label) } }
                }
            }
            button.fr-btn.fr-btn--secondary type="submit" { "Imprimer la feuille de séparation" }
        }
        h2 { "Déposer une pièce pour le demandeur" }
        (upload_form(&format!("/dossiers/{nu}/pieces"), session, catalogue, upload_error))
        p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
    };
    Ok(page(vault, &format!("Dossier {nu}"), Some(session), main).into_response())
}

pub async fn upload(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    headers: HeaderMap,
    multipart: Result<crate::pieces::UploadBody, Error>,
) -> Result<Response, Error> {
    let csrf = session.csrf();
    match crate::pieces::store_upload(&vault, &session.principal, &nu, &headers, multipart, Some(&csrf)).await {
        Ok(_) => Ok(Redirect::to(&format!("/dossiers/{nu}?depose=1")).into_response()),
        Err(e) if shown_at_form(&e) => {
            let status = e.status();
            let resp = show_page(&vault, &session, &nu, None, Some(&message_fr(&e))).await?;
            Ok((status, resp).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SheetForm {
    kind: String,
}

pub async fn sheet(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    Query(q): Query<SheetForm>,
) -> Result<Response, Error> {
    let kind = PieceKind::parse(&q.kind).map_err(|e| Error::Invalid(format!("kind: {e}")))?;
    crate::sheets::sheet_pdf(&vault, &session.principal, &nu, kind).await
}

pub async fn export(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
) -> Result<Response, Error> {
    crate::export::export_pdf(&vault, &session.principal, &nu).await
}

/// The guichet declares what the applicant's situation calls for.
pub async fn situation(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    session.check_csrf(field(&fields, "csrf"))?;
    crate::dossiers::put_expected(&vault, &session.principal, &nu, &completeness::ticked(&fields)).await?;
    Ok(Redirect::to(&format!("/dossiers/{nu}?situation=1")).into_response())
}

/// Where a dossier's page sits: under the list of dossiers.
fn breadcrumb(nu: &str) -> Markup {
    html! {
        nav.fr-breadcrumb aria-label="Vous êtes ici :" {
            ol.fr-breadcrumb__list {
                li { a.fr-breadcrumb__link href="/dossiers" { "Dossiers" } }
                li { a.fr-breadcrumb__link aria-current="page" { "Dossier " (nu) } }
            }
        }
    }
}

/// A piece's sanitised rendition, as the API serves it.
pub async fn rendition(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Response, Error> {
    crate::pieces::open_content(&vault, &session.principal, &nu, &piece, None, crate::pieces::Content::Rendition).await
}

/// A piece's original as deposited, under the same policy as the API's
/// (after a ProConnect sign-in, the default set asks for a second factor).
pub async fn original(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Response, Error> {
    crate::pieces::open_content(&vault, &session.principal, &nu, &piece, None, crate::pieces::Content::Original).await
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
