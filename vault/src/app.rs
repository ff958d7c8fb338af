//! The vault's shared state: metadata store, object store and master keys,
//! opened once from the configuration and used by the HTTP handlers and the
//! command-line jobs alike.

use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::{
    config::{Config, ProviderKind},
    crypto::{CryptoError, DossierKey, MasterKeys},
    db::{Db, MigrationState},
    error::Error,
    gate::{Costly, InFlight, Line, SourceBudget},
    keys::{AuditKey, Keys, SheetKey},
    oidc,
    sandbox::Sandbox,
    store::ObjectStore,
};

/// How [`Vault::open`] treats the database schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Refuse to run unless the schema is current (what `serve` does, except
    /// on a brand-new embedded database, which it creates).
    RequireCurrent,
    /// Apply pending migrations (`dnu-vault migrate`, tests).
    Migrate,
}

#[derive(Clone, Debug)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    db: Db,
    store: ObjectStore,
    /// Reloaded when a wrapped key names a version this process has not
    /// loaded yet (`keys rotate` ran while it was up).
    keys: RwLock<Arc<MasterKeys>>,
    policies: policies::Engine,
    audit_key: AuditKey,
    sandbox: Sandbox,
    sheet_key: SheetKey,
    sign_in: SignInGates,
    uploads: InFlight,
    /// Dossier PDF exports composing, and waiting their turn.
    exports: Line,
    /// ProConnect and FranceConnect, when configured.
    proconnect: Option<oidc::Client>,
    franceconnect: Option<oidc::Client>,
    /// The SMTP transport of the notices, when configured.
    mailer: Option<crate::mail::Mailer>,
}

/// What stands before an Argon2id verification of a personal code.
#[derive(Debug)]
pub struct SignInGates {
    /// Verifications at once: one per core, five seconds' wait at most,
    /// each with its Argon2 memory allocated once.
    pub costly: Costly<Vec<argon2::Block>>,
    /// Attempts per source address: ten, then one every six seconds.
    pub budget: SourceBudget,
}

impl SignInGates {
    fn new() -> Self {
        Self {
            costly: Costly::per_core(crate::crypto::argon2_memory, std::time::Duration::from_secs(5)),
            budget: SourceBudget::new(10, std::time::Duration::from_secs(6), 65_536),
        }
    }
}

impl Vault {
    /// Opens everything the configuration names. Errors say which part failed
    /// and what to do.
    pub async fn open(config: Config, schema: Schema) -> Result<Self, Error> {
        let policies = load_policies(&config)?;
        crate::domain::catalogue::shipped().map_err(|e| Error::Config(format!("catalogue of pieces: {e}")))?;
        let Keys { master: keys, audit: audit_key, sheet: sheet_key } = Keys::open(&config)?;
        let fresh_embedded = config.embedded_database && !config.data_dir.join("vault.db").exists();
        if config.embedded_database {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                Error::Config(format!("cannot create data directory {}: {e}", config.data_dir.display()))
            })?;
        }
        let db = Db::connect(&config.database_url, config.embedded_database, config.database_timeout)
            .await?
            .with_audit_batch(config.audit_batch);
        match (schema, db.migration_state().await?) {
            (_, MigrationState::UpToDate) => {}
            (_, MigrationState::Newer(v)) => {
                return Err(Error::Config(format!(
                    "the database was migrated by a newer DNU Vault (migrations {v:?} unknown to this binary); upgrade this binary"
                )));
            }
            (Schema::Migrate, MigrationState::Pending(_)) => db.migrate().await?,
            (Schema::RequireCurrent, MigrationState::Pending(_)) if fresh_embedded => {
                tracing::info!("creating the embedded database");
                db.migrate().await?;
            }
            (Schema::RequireCurrent, MigrationState::Pending(v)) => {
                return Err(Error::Config(format!(
                    "the database is not migrated (pending migrations {v:?}); run `dnu-vault migrate` with the same configuration first"
                )));
            }
        }
        let store = ObjectStore::open(&config.object_store).await?;
        let sandbox = Sandbox::new(&config.intake);
        let uploads = InFlight::new(config.max_uploads, config.max_uploads_per_caller);
        // Thirty seconds in line at most: an export takes about a second, so
        // a longer wait means the line is not moving.
        let exports = Line::new(config.max_exports, config.export_queue, std::time::Duration::from_secs(30));
        let client = |p: Option<&crate::config::ProviderConfig>| {
            p.cloned()
                .map(oidc::Client::new)
                .transpose()
                .map_err(|e| Error::Config(format!("sign-in through an identity provider: {e}")))
        };
        let proconnect = client(config.signin.proconnect.as_ref())?;
        let franceconnect = client(config.signin.franceconnect.as_ref())?;
        let mailer = config.notices.smtp.as_ref().map(crate::mail::Mailer::new).transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                db,
                store,
                keys: RwLock::new(Arc::new(keys)),
                policies,
                audit_key,
                sandbox,
                sheet_key,
                sign_in: SignInGates::new(),
                uploads,
                exports,
                proconnect,
                franceconnect,
                mailer,
            }),
        })
    }

    /// Where e-mail notices leave from (`None`: they wait in the outbox).
    pub fn mailer(&self) -> Option<&crate::mail::Mailer> {
        self.inner.mailer.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn store(&self) -> &ObjectStore {
        &self.inner.store
    }

    /// The access policy set, validated at start-up.
    pub fn policies(&self) -> &policies::Engine {
        &self.inner.policies
    }

    /// Where uploads are parsed: confined worker processes.
    pub fn sandbox(&self) -> &Sandbox {
        &self.inner.sandbox
    }

    /// Uploads in progress, bounded in all and per caller.
    pub fn uploads(&self) -> &InFlight {
        &self.inner.uploads
    }

    /// The line dossier PDF exports wait in.
    pub fn exports(&self) -> &Line {
        &self.inner.exports
    }

    /// The identity provider of `kind`, when one is configured.
    pub fn identity_provider(&self, kind: ProviderKind) -> Option<&oidc::Client> {
        match kind {
            ProviderKind::ProConnect => self.inner.proconnect.as_ref(),
            ProviderKind::FranceConnect => self.inner.franceconnect.as_ref(),
        }
    }

    /// The gates in front of applicant sign-in.
    pub fn sign_in_gates(&self) -> &SignInGates {
        &self.inner.sign_in
    }

    /// The key that signs separator sheets.
    pub fn sheet_key(&self) -> &SheetKey {
        &self.inner.sheet_key
    }

    /// The key that signs audit checkpoints.
    pub fn audit_key(&self) -> &AuditKey {
        &self.inner.audit_key
    }

    /// The master key ring as currently loaded.
    pub fn keys(&self) -> Arc<MasterKeys> {
        self.inner.keys.read().map(|k| Arc::clone(&k)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Re-reads the master key ring from its source.
    pub fn reload_keys(&self) -> Result<Arc<MasterKeys>, Error> {
        let ring = Arc::new(crate::keys::master_ring(&self.inner.config.master_key)?);
        match self.inner.keys.write() {
            Ok(mut k) => *k = Arc::clone(&ring),
            Err(p) => *p.into_inner() = Arc::clone(&ring),
        }
        tracing::info!(current = ring.current(), "master key ring reloaded");
        Ok(ring)
    }

    /// Unwraps a dossier's key. A shredded dossier has none: its content is
    /// gone for good.
    pub async fn dossier_key(&self, dossier: Uuid) -> Result<DossierKey, Error> {
        let wrapped = self.db().wrapped_key(dossier).await?.ok_or_else(erased)?;
        self.unwrap_key(dossier, &wrapped)
    }

    /// Unwraps a key read in bulk ([`crate::db::Db::wrapped_keys`]).
    pub fn unwrap_key(&self, dossier: Uuid, wrapped: &crate::crypto::WrappedKey) -> Result<DossierKey, Error> {
        let wrapped = wrapped.clone();
        let first = DossierKey::unwrap(dossier, &wrapped, &self.keys());
        let key = match first {
            Err(CryptoError::UnknownKeyVersion(_)) => {
                let ring = self.reload_keys()?;
                DossierKey::unwrap(dossier, &wrapped, &ring)?
            }
            other => other?,
        };
        Ok(key)
    }

    /// Crypto-shredding of several dossiers at once (the purge): their keys
    /// in one transaction, then their objects (left to `gc` on failure).
    /// Returns how many objects were registered to them.
    pub async fn shred_dossiers(&self, dossiers: &[Uuid]) -> Result<usize, Error> {
        let objects = self.db().objects_of_many(dossiers).await?;
        self.db().shred_dossier_keys(dossiers).await?;
        for (dossier, object) in &objects {
            let key = crate::store::ObjectKey::Dossier { dossier: *dossier, object: *object };
            if let Err(e) = self.store().delete(&key).await {
                tracing::warn!(dossier.id = %dossier, error = %e, "object left for gc after shredding");
            }
        }
        Ok(objects.len())
    }

    /// Crypto-shredding: deletes the dossier key, then the dossier's objects.
    /// The objects are unreadable from the moment the key row is deleted;
    /// deleting them afterwards only reclaims space, and a failure there is
    /// left to `dnu-vault gc`.
    pub async fn shred_dossier(&self, dossier: Uuid) -> Result<bool, Error> {
        let shredded = self.db().shred_dossier_key(dossier).await?;
        for object in self.db().objects_of(dossier).await? {
            let key = crate::store::ObjectKey::Dossier { dossier, object };
            if let Err(e) = self.store().delete(&key).await {
                tracing::warn!(dossier.id = %dossier, error = %e, "object left for gc after shredding");
            }
        }
        Ok(shredded)
    }
}

/// Loads and validates the configured policy set: the vault does not start
/// on a set that does not validate against the schema.
fn load_policies(config: &Config) -> Result<policies::Engine, Error> {
    let engine = match &config.policy_dir {
        Some(dir) => policies::Engine::load_dir(dir),
        None => policies::Engine::builtin("default"),
    }
    .map_err(|e| Error::Config(format!("invalid access policy set: {e}")))?;
    tracing::info!(
        policy_set = %config.policy_dir.as_ref().map_or("built-in default".to_owned(), |d| d.display().to_string()),
        policies = engine.policy_ids().len(),
        "access policies loaded"
    );
    Ok(engine)
}

/// A dossier whose key was shredded: its content is gone for good.
pub(crate) fn erased() -> Error {
    Error::Conflict("this dossier has been erased; its pieces can no longer be read".into())
}
