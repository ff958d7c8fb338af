//! OpenID Connect sign-ins: attempts in progress (used once), agents
//! invited by e-mail and bound to their ProConnect subject, and how a page
//! session was opened.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, is_unique_violation, now_ms, uuid_col};
use crate::{config::ProviderKind, domain::EmailAddress, error::Error};

/// A sign-in in progress, as the callback takes it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttempt {
    pub provider: ProviderKind,
    pub state: String,
    pub nonce: String,
    pub verifier: Option<String>,
}

/// How a page session was opened through a provider: what the policy
/// context sees (acr, amr) and the logout's hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub provider: ProviderKind,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub id_token: String,
}

/// What binding a ProConnect subject to an invited agent found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The agent invited with this e-mail is now bound to the subject.
    Bound(Uuid),
    /// The agent with this e-mail is bound to another subject.
    OtherSubject(Uuid),
    /// No agent was invited with this e-mail.
    NotInvited,
}

impl Db {
    /// Keeps a sign-in attempt until `expires_at`; `handle_hash` is the
    /// SHA-256 of the browser's handle. Expired attempts go at the same time.
    pub async fn signin_attempt_put(
        &self,
        handle_hash: &[u8; 32],
        provider: ProviderKind,
        state: &str,
        nonce: &str,
        verifier: Option<&str>,
        expires_at: i64,
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM signin_attempts WHERE expires_at < $1").bind(now_ms()).execute(self.pool()).await?;
        sqlx::query(
            "INSERT INTO signin_attempts (handle_hash, provider, state, nonce, verifier, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(handle_hash.to_vec())
        .bind(provider.as_str())
        .bind(state)
        .bind(nonce)
        .bind(verifier)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes an attempt back, once: the row is deleted in the same
    /// statement, so a replayed callback finds nothing. An expired one is
    /// taken and not returned.
    pub async fn signin_attempt_take(&self, handle_hash: &[u8; 32]) -> Result<Option<StoredAttempt>, Error> {
        let row = sqlx::query(
            "DELETE FROM signin_attempts WHERE handle_hash = $1 RETURNING provider, state, nonce, verifier, expires_at",
        )
        .bind(handle_hash.to_vec())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<i64, _>("expires_at")? < now_ms() {
            return Ok(None);
        }
        let provider: String = row.try_get("provider")?;
        Ok(Some(StoredAttempt {
            provider: ProviderKind::parse(&provider)
                .ok_or_else(|| Error::Integrity(format!("sign-in attempt of unknown provider {provider:?}")))?,
            state: row.try_get("state")?,
            nonce: row.try_get("nonce")?,
            verifier: row.try_get("verifier")?,
        }))
    }

    /// Invites a person as an agent of `organisation`: they sign in with
    /// ProConnect under `email` (any case). No access token is issued.
    pub async fn invite_agent(&self, organisation: Uuid, name: &str, email: &EmailAddress) -> Result<Uuid, Error> {
        let id = Uuid::new_v4();
        // The column is NOT NULL UNIQUE for machine clients; a person's row
        // holds the hash of a random value nobody was shown.
        let unusable = crate::crypto::sha256(&crate::crypto::random_bytes::<32>()?);
        let r = sqlx::query(
            "INSERT INTO agents (id, organisation_id, name, token_hash, created_at, scanner, email) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(id.to_string())
        .bind(organisation.to_string())
        .bind(name)
        .bind(unusable.to_vec())
        .bind(now_ms())
        .bind(email.as_str())
        .execute(self.pool())
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                Err(Error::Conflict("an agent is already invited with this e-mail address".into()))
            }
            r => r.map(|_| id).map_err(Error::from),
        }
    }

    /// The agent bound to a ProConnect subject.
    pub async fn agent_by_proconnect_sub(&self, sub: &str) -> Result<Option<Uuid>, Error> {
        let row = sqlx::query("SELECT id FROM agents WHERE proconnect_sub = $1")
            .bind(sub)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| uuid_col(r, "id")).transpose()
    }

    /// Binds the agent invited with `email` (compared in lower case) to a
    /// ProConnect subject, if it is not bound yet; a conditional update, so
    /// two first sign-ins at once bind one subject.
    pub async fn bind_proconnect_sub(&self, email: &EmailAddress, sub: &str) -> Result<Binding, Error> {
        let email = email.as_str();
        let r = sqlx::query("UPDATE agents SET proconnect_sub = $1 WHERE email = $2 AND proconnect_sub IS NULL")
            .bind(sub)
            .bind(email)
            .execute(self.pool())
            .await;
        match r {
            // The subject is already bound to another agent.
            Err(e) if is_unique_violation(&e) => return Ok(Binding::NotInvited),
            r => r?,
        };
        let row = sqlx::query("SELECT id, proconnect_sub FROM agents WHERE email = $1")
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(Binding::NotInvited) };
        let id = uuid_col(&row, "id")?;
        let bound: Option<String> = row.try_get("proconnect_sub")?;
        Ok(if bound.as_deref() == Some(sub) { Binding::Bound(id) } else { Binding::OtherSubject(id) })
    }

    /// Opens a page session for an agent signed in through a provider.
    pub async fn agent_session_open_signed_in(
        &self,
        agent: Uuid,
        token_hash: &[u8; 32],
        expires_at: i64,
        how: &SignedIn,
    ) -> Result<(), Error> {
        self.agent_session_open(agent, token_hash, expires_at).await?;
        sqlx::query("UPDATE agent_sessions SET provider = $1, acr = $2, amr = $3, id_token = $4 WHERE token_hash = $5")
            .bind(how.provider.as_str())
            .bind(how.acr.as_deref())
            .bind(how.amr.join(" "))
            .bind(&how.id_token)
            .bind(token_hash.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// A session row's sign-in columns (`None`: opened with a pasted token).
pub(super) fn signed_in_of(row: &sqlx::any::AnyRow) -> Result<Option<SignedIn>, Error> {
    let Some(provider) = row.try_get::<Option<String>, _>("provider")?.as_deref().and_then(ProviderKind::parse) else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        provider,
        acr: row.try_get("acr")?,
        amr: row
            .try_get::<Option<String>, _>("amr")?
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        id_token: row.try_get::<Option<String>, _>("id_token")?.unwrap_or_default(),
    }))
}

/// What linking a FranceConnect identity to an applicant found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Linked,
    /// This applicant is already linked to another FranceConnect identity.
    ApplicantHasAnother,
    /// This FranceConnect identity is linked to another applicant.
    IdentityTaken,
}

/// A FranceConnect identity waiting to be linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub sub_hash: [u8; 32],
    pub id_token: String,
}

impl Db {
    /// The applicant (and dossier) linked to a FranceConnect subject.
    pub async fn applicant_by_franceconnect(&self, sub_hash: &[u8; 32]) -> Result<Option<(Uuid, Uuid)>, Error> {
        let row = sqlx::query("SELECT id, dossier_id FROM applicants WHERE franceconnect_sub_hash = $1")
            .bind(sub_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((uuid_col(&r, "id")?, uuid_col(&r, "dossier_id")?))).transpose()
    }

    /// Links an applicant to a FranceConnect subject, once.
    pub async fn link_franceconnect(&self, applicant: Uuid, sub_hash: &[u8; 32]) -> Result<Link, Error> {
        let r = sqlx::query(
            "UPDATE applicants SET franceconnect_sub_hash = $1, franceconnect_linked_at = $2 \
             WHERE id = $3 AND franceconnect_sub_hash IS NULL",
        )
        .bind(sub_hash.to_vec())
        .bind(now_ms())
        .bind(applicant.to_string())
        .execute(self.pool())
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => Ok(Link::IdentityTaken),
            Err(e) => Err(e.into()),
            Ok(done) if done.rows_affected() == 1 => Ok(Link::Linked),
            Ok(_) => Ok(Link::ApplicantHasAnother),
        }
    }

    /// Removes the FranceConnect link of a dossier's applicant; true if
    /// there was one.
    pub async fn unlink_franceconnect_of_dossier(&self, dossier: Uuid) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE applicants SET franceconnect_sub_hash = NULL, franceconnect_linked_at = NULL \
             WHERE dossier_id = $1 AND franceconnect_sub_hash IS NOT NULL",
        )
        .bind(dossier.to_string())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// When the applicant linked FranceConnect, if they did (Unix ms).
    pub async fn franceconnect_linked_at(&self, applicant: Uuid) -> Result<Option<i64>, Error> {
        let row = sqlx::query("SELECT franceconnect_linked_at FROM applicants WHERE id = $1")
            .bind(applicant.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<Option<i64>, _>("franceconnect_linked_at")).transpose()?.flatten())
    }

    /// Keeps a verified FranceConnect identity until the applicant links it.
    pub async fn franceconnect_pending_put(
        &self,
        handle_hash: &[u8; 32],
        pending: &Pending,
        expires_at: i64,
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM franceconnect_pending WHERE expires_at < $1")
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO franceconnect_pending (handle_hash, sub_hash, id_token, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(handle_hash.to_vec())
        .bind(pending.sub_hash.to_vec())
        .bind(&pending.id_token)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The identity waiting under a handle (left in place: a mistyped code
    /// may be tried again; [`Self::franceconnect_pending_drop`] ends it).
    pub async fn franceconnect_pending(&self, handle_hash: &[u8; 32]) -> Result<Option<Pending>, Error> {
        let row = sqlx::query(
            "SELECT sub_hash, id_token FROM franceconnect_pending WHERE handle_hash = $1 AND expires_at > $2",
        )
        .bind(handle_hash.to_vec())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sub: Vec<u8> = row.try_get("sub_hash")?;
        Ok(Some(Pending {
            sub_hash: sub.try_into().map_err(|_| Error::Integrity("a pending link's hash is not 32 bytes".into()))?,
            id_token: row.try_get("id_token")?,
        }))
    }

    pub async fn franceconnect_pending_drop(&self, handle_hash: &[u8; 32]) -> Result<(), Error> {
        sqlx::query("DELETE FROM franceconnect_pending WHERE handle_hash = $1")
            .bind(handle_hash.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl Db {
    /// SIRETs an organisation accepts besides those of its own SIREN.
    pub async fn accepted_sirets(&self, organisation: Uuid) -> Result<Vec<String>, Error> {
        let row = sqlx::query("SELECT accepted_sirets FROM organisations WHERE id = $1")
            .bind(organisation.to_string())
            .fetch_optional(self.pool())
            .await?;
        let text: Option<String> = row.map(|r| r.try_get("accepted_sirets")).transpose()?.flatten();
        Ok(text.unwrap_or_default().split_whitespace().map(str::to_owned).collect())
    }

    /// Adds a SIRET (14 digits, checked by the caller) an organisation's
    /// agents may sign in under; a no-op when it is already accepted.
    pub async fn accept_siret(&self, organisation: Uuid, siret: &str) -> Result<(), Error> {
        let mut all = self.accepted_sirets(organisation).await?;
        if all.iter().any(|s| s == siret) {
            return Ok(());
        }
        all.push(siret.to_owned());
        sqlx::query("UPDATE organisations SET accepted_sirets = $1 WHERE id = $2")
            .bind(all.join(" "))
            .bind(organisation.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
