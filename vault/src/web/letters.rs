//! The guichet's "courriers à envoyer" on its pages: the letters of the
//! notices that go by post, each printable as a PDF and marked posted once
//! it has left. The same operations as the API's (`notices::letters`).

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};

use super::{AgentSession, Session};
use crate::{app::Vault, error::Error, notices::letters};

/// The section of the agents' list page: the letters waiting to be posted.
pub async fn section(vault: &Vault, session: &Session) -> Result<Markup, Error> {
    let queue = letters::queue(vault, &session.principal, false).await?.letters;
    Ok(html! {
        h2 { "Courriers à envoyer (" (queue.len()) ")" }
        @if queue.is_empty() {
            p { "Aucun courrier n'attend d'être posté." }
        } @else {
            (super::table("courriers", "Avis aux demandeurs qui reçoivent leurs avis par la poste : imprimez, postez, puis marquez comme posté",
                &["Numéro unique", "Avis", "Émis le", "Courrier", "Envoi"], html! {
                @for l in &queue {
                    @let kind = match l.kind { "renewal" => "renouvellement", "warning" => "avertissement (en recommandé avec accusé de réception)", _ => "radiation" };
                    tr {
                        td { a.fr-link href=(format!("/dossiers/{}", l.numero_unique)) { (l.numero_unique) } }
                        td { (kind) }
                        td { (super::fr::date_str(&l.issued_on)) }
                        td { a.fr-link href=(format!("/courriers/{}", l.id)) { "Télécharger le courrier de " (kind) " de la demande " (l.numero_unique) " (PDF)" } }
                        td {
                            form method="post" action=(format!("/courriers/{}/poste", l.id)) {
                                input type="hidden" name="csrf" value=(session.csrf());
                                button.fr-btn.fr-btn--sm.fr-btn--secondary type="submit" { "Marquer le courrier de la demande " (l.numero_unique) " comme posté" }
                            }
                        }
                    }
                }
            }))
        }
    })
}

pub async fn pdf(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    letters::letter_pdf(&vault, &session.principal, &id).await
}

pub async fn posted(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(id): Path<String>,
    super::PageForm(form): super::PageForm<super::CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf())?;
    letters::mark_posted(&vault, &session.principal, &id).await?;
    Ok(Redirect::to("/dossiers").into_response())
}
