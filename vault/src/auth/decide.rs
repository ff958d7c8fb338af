//! The decision: the configured Cedar policy set (crate `policies`)
//! answers (principal, action, dossier, grant, purpose), deny by default.
//! [`authorize`] traces every denial before it is returned; it is called
//! by the access seam only (`crate::access`), and the worklist asks
//! [`decide_prepared`] about each candidate.

use policies::{DossierFacts, GrantFacts, OrgFacts};

use super::{Action, Principal, Resource};
use crate::{
    app::Vault,
    db::{audit::AuditEvent, grants::Grant, orgs::Organisation},
    domain::{CommuneCode, Purpose, TerritoryCode},
    error::Error,
};

fn org_facts(o: &Organisation) -> OrgFacts {
    let (mut communes, mut departements) = (Vec::new(), Vec::new());
    for t in &o.territory {
        match t {
            TerritoryCode::Commune(c) => communes.push(c.to_string()),
            TerritoryCode::Departement(d) => departements.push(d.clone()),
        }
    }
    OrgFacts { id: o.id.to_string(), kind: o.kind.to_string(), registering: o.registering, communes, departements }
}

fn dossier_facts(id: String, status: &str, communes: &[CommuneCode]) -> DossierFacts {
    let mut departements: Vec<String> = communes.iter().map(|c| c.departement().to_owned()).collect();
    departements.sort();
    departements.dedup();
    DossierFacts {
        id,
        status: status.to_owned(),
        communes: communes.iter().map(ToString::to_string).collect(),
        departements,
    }
}

/// The one authorisation decision: the configured Cedar policy set decides,
/// given the caller's organisation's grant on the dossier if it has one.
/// Deny by default; a refusal involving a dead grant says so. Allowed, it
/// answers the purpose the request was decided under, which the journal
/// records.
pub(crate) async fn authorize(
    vault: &Vault,
    p: &Principal,
    action: Action,
    resource: Resource<'_>,
) -> Result<Purpose, Error> {
    let now = crate::clock::now_s();
    let grant = match (resource, p.organisation_id()) {
        (Resource::Dossier(d), Some(org)) => vault.db().grant_for(d.id, org, now).await?,
        _ => None,
    };
    authorize_with(vault, p, action, resource, grant.as_ref(), now).await
}

/// [`authorize`] with the caller's organisation's grant on the dossier
/// already read (with the dossier, at `now`): the one that
/// decides, or `None` when it has none.
pub(crate) async fn authorize_with(
    vault: &Vault,
    p: &Principal,
    action: Action,
    resource: Resource<'_>,
    grant: Option<&Grant>,
    now: i64,
) -> Result<Purpose, Error> {
    let purpose = request_purpose(p, action, grant);
    let decided = decide_prepared(vault, &Prepared::new(vault, p), purpose, action, resource, grant, now);
    if decided.is_err() {
        crate::metrics::global().policy_denials.inc();
        // Every denial is traced, committed before the refusal is sent.
        let dossier = match resource {
            Resource::Dossier(d) => Some(d.id),
            Resource::NewDossier(_) | Resource::Platform => None,
        };
        let actor = crate::domain::journal::Actor { purpose, ..p.actor(action) };
        let mut event = AuditEvent::new(actor, action).denied();
        event.dossier = dossier;
        vault.db().record(&event).await?;
    }
    decided.map(|()| purpose)
}

/// The caller as the policies see it, built once for many decisions (the
/// worklist asks about every candidate dossier).
pub struct Prepared {
    principal: policies::PreparedPrincipal,
    who: String,
    /// The level and methods of a ProConnect sign-in, for the context.
    signin: Option<policies::SignInFacts>,
}

impl Prepared {
    pub fn new(vault: &Vault, p: &Principal) -> Self {
        let (principal, who) = match p {
            Principal::Agent(a) => (
                policies::Principal::Agent {
                    id: a.agent.id.to_string(),
                    organisation: org_facts(&a.organisation),
                    active: !a.agent.disabled,
                },
                format!("organisation {}", a.organisation.siren),
            ),
            Principal::Applicant { id, dossier } => (
                policies::Principal::Applicant { id: id.to_string(), dossier: dossier.to_string() },
                "the applicant".to_owned(),
            ),
        };
        let signin = match p {
            Principal::Agent(a) => a
                .signed_in
                .as_ref()
                .map(|s| policies::SignInFacts { acr: s.acr.clone().unwrap_or_default(), amr: s.amr.clone() }),
            Principal::Applicant { .. } => None,
        };
        Self { principal: vault.policies().prepare(&principal), who, signin }
    }
}

/// The purpose a request is decided under: an agent who declared none asks
/// for the one its grant on the dossier names (declaring another is what
/// the grant's policy refuses); otherwise [`Principal::purpose`].
pub fn request_purpose(p: &Principal, action: Action, grant: Option<&Grant>) -> Purpose {
    match (p, grant) {
        (Principal::Agent(a), Some(g)) if a.purpose.is_none() => g.purpose,
        _ => p.purpose(action),
    }
}

/// [`decide`] for a caller prepared once.
pub fn decide_prepared(
    vault: &Vault,
    prepared: &Prepared,
    purpose: Purpose,
    action: Action,
    resource: Resource<'_>,
    grant: Option<&Grant>,
    now: i64,
) -> Result<(), Error> {
    let resource_facts = match resource {
        Resource::NewDossier(communes) => policies::Resource::Dossier(dossier_facts("new".into(), "active", communes)),
        Resource::Dossier(d) => {
            policies::Resource::Dossier(dossier_facts(d.id.to_string(), d.status.as_str(), &d.communes))
        }
        Resource::Platform => policies::Resource::Platform,
    };
    let grant_facts =
        grant.map(|g| GrantFacts { expires_at: g.expires_at, revoked: g.revoked, purpose: g.purpose.to_string() });
    let question = policies::Question {
        action,
        resource: &resource_facts,
        now,
        purpose: Some(purpose.as_str()),
        grant: grant_facts.as_ref(),
        signin: prepared.signin.as_ref(),
    };
    let decision = prepared.principal.decide(vault.policies(), &question);
    if decision.allowed {
        return Ok(());
    }
    tracing::debug!(action = action.as_str(), policies = ?decision.policies, "access denied");
    let what = format!("{} for {}", action.as_str(), prepared.who);
    Err(match grant {
        None => policy_refusal(&what),
        Some(g) if g.revoked => {
            Error::Refused { code: "grant_revoked", message: format!("{what}: its grant on this dossier was revoked") }
        }
        Some(g) if g.expires_at <= now => {
            Error::Refused { code: "grant_expired", message: format!("{what}: its grant on this dossier has expired") }
        }
        _ => policy_refusal(&what),
    })
}

fn policy_refusal(what: &str) -> Error {
    Error::Forbidden(format!("the access policy does not allow {what} on this dossier"))
}

/// The answer for a numéro unique that names no dossier: word for word the
/// policy's refusal of `action` to this caller, so that probing numbers
/// tells nobody which demands exist (a 404 against a 403 did).
pub fn no_such_dossier(vault: &Vault, p: &Principal, action: Action) -> Error {
    policy_refusal(&format!("{} for {}", action.as_str(), Prepared::new(vault, p).who))
}
