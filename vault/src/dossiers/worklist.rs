//! `GET /api/v1/dossiers?commune=…&status=…&completeness=…&limit=…&after=…`:
//! the dossiers the caller may read, in numéro unique order, a page at a
//! time, each with its completeness.
//!
//! Each candidate goes through the same decision as `GET /dossiers/{nu}`
//! (`auth::decide_prepared`, with the caller's entities built and grants
//! fetched once), so the list holds exactly the dossiers the single-dossier
//! check allows. The SQL narrows by the caller's own filters and by the
//! reach the policy set's permits declare (`@worklist`, checked when the set
//! loads: territory, grants, own dossier); a permit that reaches anywhere
//! makes the SQL examine every dossier, slower but still exact.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    app::Vault,
    auth::{Action, Prepared, Principal, Resource, decide_prepared, request_purpose},
    db::{
        audit::AuditEvent,
        dossiers::{PageFilter, Reach},
    },
    domain::{
        CommuneCode, DossierStatus, NumeroUnique, PieceKind, TerritoryCode, completeness::Status, journal::Recorded,
    },
    error::Error,
};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;
/// Most candidates read per query while filling a page.
const MAX_BATCH: usize = 500;

/// How far ahead the relance list looks: the renewal notice goes out at
/// least a month before expiry (CCH R.441-2-7).
pub const RENEWAL_NOTICE_DAYS: i64 = 31;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorklistQuery {
    pub commune: Option<String>,
    pub status: Option<String>,
    /// `renewal`: the registering organisation's active demands that lapse
    /// within 31 days (or have lapsed), to chase before they are radiated.
    pub due: Option<String>,
    /// `complete` or `incomplete` (`domain::completeness`), today.
    pub completeness: Option<String>,
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorklistItem {
    pub numero_unique: String,
    pub status: String,
    pub communes: Vec<String>,
    pub deposited_on: String,
    pub valid_until: String,
    /// Whether every piece the applicant's situation calls for is present
    /// and still counts, today (`GET /dossiers/{nu}` lists them).
    pub completeness: Status,
    /// On the relance list: the renewal notice for this validity, once
    /// the daily pass issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeSummary>,
}

/// When the renewal notice went out, and by which channels.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NoticeSummary {
    pub issued_on: String,
    /// `email`, `post`.
    pub channels: Vec<&'static str>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Worklist {
    pub items: Vec<WorklistItem>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

pub async fn worklist(
    State(vault): State<Vault>,
    principal: Principal,
    crate::query::Query(q): crate::query::Query<WorklistQuery>,
) -> Result<Json<Worklist>, Error> {
    worklist_of(&vault, &principal, q).await.map(Json)
}

/// One page of the dossiers the caller may read, traced: each dossier
/// shown is recorded in its journal once per agent and day
/// ([`Recorded::WorklistShown`]), so the applicant sees who listed their
/// demand even when nobody opened it.
pub async fn worklist_of(vault: &Vault, principal: &Principal, q: WorklistQuery) -> Result<Worklist, Error> {
    let page = page_of(vault, principal, q).await?;
    // The trace and the page's completeness are independent reads of the
    // same ids: asked together, the answer waits for one round trip, not
    // two. It still leaves only once the trace is committed.
    let trace = async {
        let Some(agent) = principal.agent_id() else { return Ok(0) };
        let event = AuditEvent::new(principal.actor(Action::DossierRead), Recorded::WorklistShown);
        vault.db().record_once_each(&event, agent, &page.shown, crate::clock::start_of_day_ms()).await
    };
    let complete = vault.db().complete_among(&page.shown, page.required, page.today);
    let (complete, _) = tokio::try_join!(complete, trace)?;
    Ok(page.with_completeness(&complete))
}

/// A page before its completeness: what [`Found::with_completeness`]
/// finishes (one query for the page).
struct Found {
    items: Vec<WorklistItem>,
    /// The ids of the dossiers on it, in its order.
    shown: Vec<Uuid>,
    next: Option<String>,
    required: PieceKind,
    today: time::Date,
}

/// The page, and the ids of the dossiers on it.
async fn page_of(vault: &Vault, principal: &Principal, q: WorklistQuery) -> Result<Found, Error> {
    let commune = optional("commune", q.commune.as_deref(), CommuneCode::parse)?;
    let status = optional("status", q.status.as_deref(), DossierStatus::parse)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::Invalid(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let mut cursor = optional("after", q.after.as_deref(), NumeroUnique::parse)?;
    let now = crate::clock::now_s();
    let reach = reach(vault, principal);
    let renewal_due = match q.due.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("renewal") => match principal {
            Principal::Agent(a) if a.organisation.registering => {
                let lead = i64::from(vault.config().notices.lead_days).max(RENEWAL_NOTICE_DAYS);
                Some((a.organisation.id, crate::clock::today() + time::Duration::days(lead)))
            }
            _ => {
                return Err(Error::Invalid(
                    "due: renewal lists the demands a registering organisation has to chase; this caller registers none"
                        .into(),
                ));
            }
        },
        Some(other) => return Err(Error::Invalid(format!("due: {other:?} is not a list; expected renewal"))),
    };
    let today = crate::clock::today();
    let required = super::completeness::required()?;
    let complete = optional("completeness", q.completeness.as_deref(), Status::parse)?
        .map(|s| (s == Status::Complete, required, today));
    let filter = PageFilter { commune: commune.as_ref(), status, renewal_due, complete };
    let prepared = Prepared::new(vault, principal);
    let mut items = Vec::new();
    let mut shown = Vec::new();
    // The first batch is the page, an eighth more and one (to know whether
    // a next page exists) when the SQL already narrows to the permits'
    // reach, where most candidates pass: a bailleur is refused the few
    // radiated dossiers of its territory (4 % in the national dataset), and
    // with the page and one alone, most pages took a second query. Twice
    // the page otherwise. It grows while the caller's dossiers are sparse
    // among the candidates.
    let mut batch_len = match reach {
        Reach::Within { .. } => limit + limit / 8 + 1,
        Reach::Everything => limit * 2,
    }
    .min(MAX_BATCH);
    // The organisation's grants and the first batch, asked together.
    let grants = async {
        match principal.organisation_id() {
            Some(org) => vault.db().grants_by_dossier_for(org, now).await,
            None => Ok(Default::default()),
        }
    };
    let (grants, mut batch) =
        tokio::try_join!(grants, vault.db().dossiers_page(cursor.as_ref(), &filter, &reach, batch_len as i64))?;
    loop {
        let exhausted = batch.len() < batch_len;
        batch_len = (batch_len * 2).min(MAX_BATCH);
        for d in &batch {
            cursor = Some(d.numero_unique.clone());
            let resource = Resource::Dossier(d);
            let grant = grants.get(&d.id);
            let purpose = request_purpose(principal, Action::DossierRead, grant);
            if decide_prepared(vault, &prepared, purpose, Action::DossierRead, resource, grant, now).is_ok() {
                shown.push(d.id);
                let notice = match renewal_due {
                    Some(_) => renewal_notice(vault, d).await?,
                    None => None,
                };
                items.push(WorklistItem {
                    numero_unique: d.numero_unique.to_string(),
                    status: d.status.to_string(),
                    communes: d.communes.iter().map(ToString::to_string).collect(),
                    deposited_on: crate::clock::iso_date(d.deposited_on),
                    valid_until: crate::clock::iso_date(d.valid_until),
                    // Set for the whole page below, in one query.
                    completeness: Status::Incomplete,
                    notice,
                });
                if items.len() == limit {
                    // More may follow: the cursor resumes after this one.
                    let next = cursor.map(|c| c.to_string());
                    return Ok(Found { items, shown, next, required, today });
                }
            }
        }
        if exhausted {
            return Ok(Found { items, shown, next: None, required, today });
        }
        batch = vault.db().dossiers_page(cursor.as_ref(), &filter, &reach, batch_len as i64).await?;
    }
}

impl Found {
    /// The page, each item marked complete when among `complete`.
    fn with_completeness(self, complete: &std::collections::HashSet<Uuid>) -> Worklist {
        let mut items = self.items;
        for (item, id) in items.iter_mut().zip(&self.shown) {
            if complete.contains(id) {
                item.completeness = Status::Complete;
            }
        }
        Worklist { items, next: self.next }
    }
}

/// The renewal notice of the dossier's current validity, if issued.
async fn renewal_notice(vault: &Vault, d: &crate::db::dossiers::Dossier) -> Result<Option<NoticeSummary>, Error> {
    let notices: Vec<_> = vault
        .db()
        .notices_of(d.id)
        .await?
        .into_iter()
        .filter(|n| n.kind == crate::domain::NoticeKind::Renewal && n.period == d.valid_until)
        .collect();
    let Some(first) = notices.iter().map(|n| n.issued_on).min() else { return Ok(None) };
    Ok(Some(NoticeSummary {
        issued_on: crate::clock::iso_date(first),
        channels: notices.iter().map(|n| n.channel.as_str()).collect(),
    }))
}

/// An optional query parameter, parsed; a bad one is refused by name.
fn optional<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crate::domain::ParseError>,
) -> Result<Option<T>, Error> {
    value.map(parse).transpose().map_err(|e| Error::Invalid(format!("{name}: {e}")))
}

/// Where the loaded policy set's `dossier.read` permits can reach for this
/// caller.
fn reach(vault: &Vault, principal: &Principal) -> Reach {
    let scope = vault.policies().worklist_scope();
    if !scope.unrestricted.is_empty() {
        return Reach::Everything;
    }
    let (mut communes, mut departements) = (Vec::new(), Vec::new());
    let (mut grants_of, mut own) = (None, None);
    match principal {
        Principal::Agent(a) => {
            if scope.territory {
                for t in &a.organisation.territory {
                    match t {
                        TerritoryCode::Commune(c) => communes.push(c.to_string()),
                        TerritoryCode::Departement(d) => departements.push(d.clone()),
                    }
                }
            }
            if scope.grants {
                grants_of = Some(a.organisation.id);
            }
        }
        Principal::Applicant { dossier, .. } => {
            if scope.own_dossier {
                own = Some(*dossier);
            }
        }
    }
    Reach::Within { communes, departements, grants_of, own }
}
