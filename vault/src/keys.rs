//! The three key files a vault reads: the master key ring (wraps every
//! dossier key), the audit signing key (signs checkpoints of the journal)
//! and the separator-sheet key (authenticates the QR codes of sheets).
//!
//! One rule for all three ([`load_or_create`]): a key file is read if it
//! exists; if it is missing it is created only where the caller allows it
//! ([`Missing::Create`]), written owner-only and atomically, and never
//! replaced once there. `serve` creates the audit and sheet keys on first
//! use and the master ring only on the embedded default; `keys init`
//! creates whichever is missing; `keys rotate` is the one place a ring is
//! rewritten (a new version added, none lost).

use std::path::Path;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use secrecy::ExposeSecret;

use crate::{
    config::{Config, MasterKeySource},
    crypto::{MasterKeys, random_bytes},
    domain::{GuichetCode, NumeroUnique, PieceKind},
    error::Error,
};
use time::Date;

/// What to do about a key file that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Generate it (owner-only, atomically).
    Create,
    /// Refuse to start: a production key is made on purpose (`keys init`).
    Refuse,
}

/// A kind of key file: how it is named in messages, generated and read.
pub trait KeyFile: Sized {
    /// What the file holds, for messages ("audit signing key").
    const WHAT: &'static str;
    /// The text of a new key file.
    fn generate() -> Result<String, Error>;
    /// Reads the file's text.
    fn parse(text: &str) -> Result<Self, String>;
}

/// Reads the key file at `path`, creating it first when it is missing and
/// `missing` allows. Returns the key and whether it was just created.
pub fn load_or_create<K: KeyFile>(path: &Path, missing: Missing) -> Result<(K, bool), Error> {
    let created = if path.exists() {
        false
    } else if missing == Missing::Create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        write_private_file(path, K::generate()?.as_bytes())?;
        tracing::info!(path = %path.display(), "{} generated", K::WHAT);
        true
    } else {
        return Err(Error::Config(format!(
            "{} {} does not exist; create it with `dnu-vault keys init`",
            K::WHAT,
            path.display()
        )));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {} {}: {e}", K::WHAT, path.display())))?;
    let key = K::parse(&text).map_err(|e| Error::Config(format!("{} {}: {e}", K::WHAT, path.display())))?;
    Ok((key, created))
}

/// The three keys of a running vault.
#[derive(Debug)]
pub struct Keys {
    pub master: MasterKeys,
    pub audit: AuditKey,
    pub sheet: SheetKey,
}

impl Keys {
    /// What `serve` (and every command that opens a vault) reads: the audit
    /// and sheet keys are created on first use, the master ring only on the
    /// embedded default.
    pub fn open(config: &Config) -> Result<Self, Error> {
        let master = master_ring(&config.master_key)?;
        let (audit, _) = load_or_create(&config.audit_key_file, Missing::Create)?;
        let (sheet, _) = load_or_create(&config.sheet_key_file, Missing::Create)?;
        Ok(Self { master, audit, sheet })
    }
}

/// Loads the master key ring from where the configuration says; on the
/// embedded default, generates a development ring in the data directory
/// with a loud warning.
pub fn master_ring(source: &MasterKeySource) -> Result<MasterKeys, Error> {
    match source {
        MasterKeySource::File(p) => Ok(load_or_create::<MasterKeys>(p, Missing::Refuse)?.0),
        MasterKeySource::Inline(s) => Ok(MasterKeys::parse(s.expose_secret())?),
        MasterKeySource::Development(p) => {
            tracing::warn!(
                path = %p.display(),
                "USING A DEVELOPMENT MASTER KEY stored next to the data: anyone who copies the data directory can read \
                 every document. Set VAULT_MASTER_KEY_FILE to a key kept elsewhere for any real use."
            );
            Ok(load_or_create::<MasterKeys>(p, Missing::Create)?.0)
        }
    }
}

impl KeyFile for MasterKeys {
    const WHAT: &'static str = "master key ring";

    fn generate() -> Result<String, Error> {
        Ok(MasterKeys::generate()?.to_text())
    }

    fn parse(text: &str) -> Result<Self, String> {
        MasterKeys::parse(text).map_err(|e| e.to_string())
    }
}

/// The Ed25519 key that signs audit checkpoints, apart from the data keys.
pub struct AuditKey(Ed25519KeyPair);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", hex::encode(self.public_key()))
    }
}

impl AuditKey {
    pub fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).as_ref().to_vec()
    }
}

impl KeyFile for AuditKey {
    const WHAT: &'static str = "audit signing key";

    fn generate() -> Result<String, Error> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| Error::Config("cannot generate the audit signing key".into()))?;
        Ok(format!("{}\n", B64.encode(doc.as_ref())))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let der = B64.decode(text.trim()).map_err(|_| "not base64".to_owned())?;
        Ed25519KeyPair::from_pkcs8(&der).map(Self).map_err(|e| e.to_string())
    }
}

/// The territory's key of separator sheets, as the vault holds it: each
/// guichet's sheets are tagged under a key derived from it.
#[derive(Debug)]
pub struct SheetKey(dnu_api::sheet::SheetKey);

impl SheetKey {
    /// The text a sheet's QR code carries, for a sheet printed by `guichet`
    /// on `issued`.
    pub fn payload(
        &self,
        nu: &NumeroUnique,
        kind: PieceKind,
        guichet: &GuichetCode,
        issued: Date,
    ) -> Result<String, Error> {
        self.0
            .payload(nu.as_str(), kind.as_str(), guichet.as_str(), issued)
            .map_err(|e| Error::internal("tagging a separator sheet", e))
    }

    /// Reads a sheet's QR text back: the dossier, kind and guichet if, and
    /// only if, the tag is this territory's and the sheet is still good.
    pub fn verify(&self, payload: &str, today: Date) -> Result<(NumeroUnique, PieceKind, GuichetCode), Error> {
        let refused = |why: String| Error::Invalid(format!("separator sheet refused: {why}"));
        let sheet = self.0.verify(payload, today).map_err(|e| refused(e.to_string()))?;
        let nu = NumeroUnique::parse(&sheet.numero_unique).map_err(|e| refused(e.to_string()))?;
        let kind = PieceKind::parse(&sheet.kind).map_err(|e| refused(e.to_string()))?;
        let guichet = GuichetCode::parse(&sheet.guichet).map_err(|e| refused(e.0))?;
        Ok((nu, kind, guichet))
    }

    /// The key file of one guichet's scanner: it reads and prints that
    /// guichet's sheets only.
    pub fn guichet_key_text(&self, guichet: &GuichetCode) -> Result<String, Error> {
        self.0.for_guichet(guichet.as_str()).map(|k| k.to_text()).map_err(|e| Error::Invalid(e.to_string()))
    }
}

impl KeyFile for SheetKey {
    const WHAT: &'static str = "separator sheet key";

    fn generate() -> Result<String, Error> {
        Ok(format!("{}\n", hex::encode(random_bytes::<32>()?)))
    }

    fn parse(text: &str) -> Result<Self, String> {
        dnu_api::sheet::SheetKey::from_hex(text).map(Self).map_err(|e| e.to_string())
    }
}

/// Writes a secret file atomically (temporary file, fsync, rename) with
/// owner-only permissions.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_created_only_when_allowed_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/audit.key");
        let refused = load_or_create::<AuditKey>(&path, Missing::Refuse).unwrap_err().to_string();
        assert!(refused.contains("keys init"), "{refused}");
        let (first, created) = load_or_create::<AuditKey>(&path, Missing::Create).unwrap();
        assert!(created);
        let (again, created) = load_or_create::<AuditKey>(&path, Missing::Create).unwrap();
        assert!(!created);
        assert_eq!(first.public_key(), again.public_key());
        std::fs::write(&path, "not a key").unwrap();
        let bad = load_or_create::<AuditKey>(&path, Missing::Create).unwrap_err().to_string();
        assert!(bad.contains("audit signing key") && bad.contains("not base64"), "{bad}");
    }
}
