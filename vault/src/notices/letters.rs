//! The registering guichet's "courriers à envoyer": the letters of the
//! notices that go by post (R.441-2-7: the applicant who never registered
//! or renewed online, or who asked for post). Each is an A4 PDF whose text
//! stays text, with the address block where a window envelope shows it;
//! it stays in the queue until an agent marks it posted.
//!
//! A letter names the applicant's dossier and address: each is decided as
//! a read of that dossier (`dossier.read`), and only the agents of the
//! organisation whose queue it is see it.

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    response::Response,
};
use intake::compose::TextLine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::compose::{Message, Paragraph, french_date};
use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, Principal},
    db::{contacts::SealedRecord, notices::Notice},
    error::Error,
    query::Query,
};

/// One letter of the queue, as listed.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LetterView {
    pub id: String,
    pub numero_unique: String,
    /// `renewal` or `radiation`.
    pub kind: &'static str,
    pub issued_on: String,
    /// When an agent marked it posted; absent while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posted_at: Option<String>,
    /// Where the PDF is.
    pub pdf: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LetterQueue {
    pub letters: Vec<LetterView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Also the letters already posted.
    #[serde(default)]
    pub all: bool,
}

/// Opens the dossier of a letter for `action`, for an agent of the letter's
/// organisation; a letter of another queue is not found.
async fn open_letter<'a>(
    vault: &'a Vault,
    principal: &'a Principal,
    id: &str,
    action: Action,
) -> Result<(Notice, Opened<'a>), Error> {
    let agent = principal.as_agent()?;
    let missing = || Error::NotFound(format!("no letter {id:?} in your organisation's queue"));
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let notice =
        vault.db().notice(id).await?.filter(|n| n.organisation == agent.organisation.id).ok_or_else(missing)?;
    if notice.channel != crate::domain::Channel::Post {
        return Err(missing());
    }
    let dossier = vault.db().dossier_by_id(notice.dossier).await?.ok_or_else(missing)?;
    let opened = access::open(vault, principal, dossier.numero_unique.as_str(), action).await?;
    Ok((notice, opened))
}

/// The caller's organisation's letters, those it may still read.
pub async fn queue(vault: &Vault, principal: &Principal, all: bool) -> Result<LetterQueue, Error> {
    let agent = principal.as_agent()?;
    let mut letters = Vec::new();
    for n in vault.db().letters_of(agent.organisation.id, !all).await? {
        let Some(d) = vault.db().dossier_by_id(n.dossier).await? else { continue };
        // A dossier the organisation may no longer read (its territory
        // changed) leaves the queue rather than leaking its number.
        if access::open(vault, principal, d.numero_unique.as_str(), Action::DossierRead).await.is_err() {
            continue;
        }
        letters.push(LetterView {
            id: n.id.to_string(),
            numero_unique: d.numero_unique.to_string(),
            kind: n.kind.as_str(),
            issued_on: crate::clock::iso_date(n.issued_on),
            posted_at: n.sent_at.map(|ms| crate::clock::rfc3339(ms / 1000)),
            pdf: format!("/api/v1/letters/{}", n.id),
        });
    }
    Ok(LetterQueue { letters })
}

/// The letter as a PDF download, traced as a read of the dossier (the API
/// and the pages answer the same).
pub async fn letter_pdf(vault: &Vault, principal: &Principal, id: &str) -> Result<Response, Error> {
    let (notice, opened) = open_letter(vault, principal, id, Action::DossierRead).await?;
    let dk = opened.key().await?;
    let message: Message =
        crate::sealed::records::open(&dk, &SealedRecord { id: notice.id, sealed: notice.sealed.clone() })?;
    let guichet = &principal.as_agent()?.organisation.name;
    let pages = layout(&message, guichet, notice.issued_on);
    let pdf = intake::compose::text_pdf(&pages).map_err(|e| Error::internal("composing a letter", e.to_string()))?;
    opened.record_daily().await?;
    let name = format!("courrier-{}-{}.pdf", opened.dossier().numero_unique, notice.kind.as_str());
    Ok(crate::reply::content(Body::from(pdf), "application/pdf", &format!("attachment; filename=\"{name}\""), false))
}

/// Marks a letter posted (once; again is a no-op).
pub async fn mark_posted(vault: &Vault, principal: &Principal, id: &str) -> Result<bool, Error> {
    let (notice, opened) = open_letter(vault, principal, id, Action::DossierRead).await?;
    vault.db().letter_posted(&notice, opened.principal().actor(Action::DossierRead)).await
}

/// Words per line at 10.5 pt Helvetica over the 480 pt text width.
const LINE_CHARS: usize = 88;

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The letter's pages: the guichet at the top left, the address block at
/// the right (where a DL window envelope shows it), the date, the subject,
/// then the paragraphs; further pages when the text runs long.
pub fn layout(m: &Message, guichet: &str, issued_on: time::Date) -> Vec<Vec<TextLine>> {
    let line = |x: f32, y: f32, size: f32, bold: bool, text: String| TextLine { x, y, size, bold, text };
    let mut first = vec![line(56.0, 790.0, 11.0, true, guichet.to_owned())];
    let address: Vec<String> = if m.address.is_empty() {
        vec!["[Adresse du demandeur : à compléter par le guichet]".into()]
    } else {
        m.address.clone()
    };
    for (i, a) in address.iter().enumerate() {
        first.push(line(320.0, 700.0 - 14.0 * i as f32, 11.0, false, a.clone()));
    }
    first.push(line(320.0, 590.0, 10.5, false, format!("Le {}", french_date(issued_on))));
    let mut body: Vec<(bool, String)> = vec![(true, format!("Objet : {}", m.subject)), (false, String::new())];
    for p in &m.paragraphs {
        match p {
            Paragraph::Text(t) => body.extend(wrap(t, LINE_CHARS).into_iter().map(|l| (false, l))),
            Paragraph::List(items) => {
                for item in items {
                    for (k, l) in wrap(item, LINE_CHARS - 4).into_iter().enumerate() {
                        body.push((false, if k == 0 { format!("– {l}") } else { format!("   {l}") }));
                    }
                }
            }
        }
        body.push((false, String::new()));
    }
    let mut pages = vec![first];
    let mut y = 550.0;
    for (bold, text) in body {
        if y < 70.0 {
            pages.push(Vec::new());
            y = 790.0;
        }
        if !text.is_empty()
            && let Some(page) = pages.last_mut()
        {
            page.push(line(56.0, y, 10.5, bold, text));
        }
        y -= 14.0;
    }
    pages
}

pub async fn list(
    State(vault): State<Vault>,
    principal: Principal,
    Query(q): Query<QueueQuery>,
) -> Result<Json<LetterQueue>, Error> {
    queue(&vault, &principal, q.all).await.map(Json)
}

pub async fn pdf(State(vault): State<Vault>, principal: Principal, Path(id): Path<String>) -> Result<Response, Error> {
    letter_pdf(&vault, &principal, &id).await
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Posted {
    pub posted: bool,
}

pub async fn posted(
    State(vault): State<Vault>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Posted>, Error> {
    mark_posted(&vault, &principal, &id).await.map(|newly| Json(Posted { posted: newly }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paragraphs_wrap_at_words() {
        let lines = wrap(&"mot ".repeat(60), 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(lines.join(" "), "mot ".repeat(60).trim());
    }
}
