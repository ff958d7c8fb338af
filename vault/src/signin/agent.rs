//! An agent's ProConnect sign-in, once the provider vouched for them.
//!
//! Agents are invited (`dnu-vault admin agent invite`): the first sign-in
//! binds the agent invited with the e-mail ProConnect gives (compared in
//! lower case) to the ProConnect subject; later sign-ins find the agent by
//! subject alone, so a changed e-mail at the provider changes nothing
//! here. The SIRET must belong to the agent's organisation (its SIREN is
//! the first nine digits), or one the organisation accepts (`admin org
//! accept-siret`: a CCAS signing in under its commune's SIRET); ProConnect
//! substitutes a default SIRET when an identity provider sends an invalid
//! one, and that is refused too.

use uuid::Uuid;

use super::{Callback, Refusal, take};
use crate::{
    app::Vault,
    auth::TokenKind,
    config::ProviderKind,
    db::{
        audit::AuditEvent,
        signin::{Binding, SignedIn},
    },
    domain::{
        EmailAddress, Purpose,
        journal::{Actor, Recorded, SignIn},
    },
    oidc::{Failure, Identity},
};

/// How long an agent's page session lasts: a working day.
pub const SESSION_S: u32 = 8 * 3600;

/// A signed-in agent: the page session's token, for the cookie.
#[derive(Debug)]
pub struct AgentSession {
    pub agent: Uuid,
    pub token: String,
}

/// Completes an agent's ProConnect sign-in from the callback, and records
/// the outcome in the journal (a refusal with its reason).
pub async fn finish(vault: &Vault, handle: Option<&str>, callback: &Callback) -> Result<AgentSession, Refusal> {
    let mut who = (None, None);
    let result = complete(vault, handle, callback, &mut who).await;
    let journal = match &result {
        Ok(_) => Some(SignIn::Agent),
        Err(r) => r.journal(),
    };
    if let Some(what) = journal {
        let (agent, organisation) = who;
        // Sign-ins belong to the platform's own record (what the manager
        // controls), not to any dossier.
        let actor = Actor { agent, organisation, purpose: Purpose::Controle };
        let mut event = AuditEvent::new(actor, Recorded::SignIn(what));
        event.outcome = what.outcome();
        vault.db().record(&event).await?;
    }
    match &result {
        Ok(s) => tracing::info!(agent.id = %s.agent, "agent signed in with ProConnect"),
        Err(Refusal::Internal(_)) => {}
        Err(r) => {
            tracing::info!(agent.id = ?who.0, signin.refusal = ?journal.map(SignIn::as_str), "ProConnect sign-in refused: {r}")
        }
    }
    result
}

async fn complete(
    vault: &Vault,
    handle: Option<&str>,
    callback: &Callback,
    who: &mut (Option<Uuid>, Option<Uuid>),
) -> Result<AgentSession, Refusal> {
    let (client, attempt, code) = take(vault, ProviderKind::ProConnect, handle, callback).await?;
    let identity = client.finish(&attempt, &code).await?;
    let id = find_agent(vault, &identity, who).await?;
    let agent = vault.db().agent(id).await?.ok_or(Refusal::NotInvited)?;
    *who = (Some(agent.id), Some(agent.organisation_id));
    if agent.disabled {
        return Err(Refusal::Disabled);
    }
    let organisation = vault
        .db()
        .organisation(agent.organisation_id)
        .await?
        .ok_or_else(|| crate::error::Error::Integrity("agent without its organisation".into()))?;
    let siret = identity.claim("siret").filter(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()));
    let siren_ok = match siret {
        Some(siret) if siret[..9] == *organisation.siren.as_str() => true,
        Some(siret) => vault.db().accepted_sirets(organisation.id).await?.iter().any(|a| a == siret),
        None => false,
    };
    if !siren_ok {
        return Err(Refusal::Siren { organisation: organisation.name });
    }
    let (token, hash) = TokenKind::AgentSession.mint()?;
    let expires = crate::clock::now_ms() + i64::from(SESSION_S) * 1000;
    let how = SignedIn {
        provider: ProviderKind::ProConnect,
        acr: identity.acr.clone(),
        amr: identity.amr.clone(),
        id_token: identity.id_token.clone(),
    };
    vault.db().agent_session_open_signed_in(agent.id, &hash, expires, &how).await?;
    Ok(AgentSession { agent: agent.id, token })
}

/// The agent bound to this subject, or the one invited with its e-mail,
/// bound now.
async fn find_agent(
    vault: &Vault,
    identity: &Identity,
    who: &mut (Option<Uuid>, Option<Uuid>),
) -> Result<Uuid, Refusal> {
    if let Some(id) = vault.db().agent_by_proconnect_sub(&identity.sub).await? {
        return Ok(id);
    }
    let email = identity
        .claim("email")
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or(Failure::Token { what: "userinfo", why: "it carries no valid e-mail address" })?;
    match vault.db().bind_proconnect_sub(&email, &identity.sub).await? {
        Binding::Bound(id) => Ok(id),
        Binding::OtherSubject(id) => {
            // Traced under the agent whose address was presented.
            *who = (Some(id), None);
            Err(Refusal::OtherAccount)
        }
        Binding::NotInvited => Err(Refusal::NotInvited),
    }
}
