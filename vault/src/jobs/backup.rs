//! `dnu-vault backup DIR` and `dnu-vault restore DIR`.
//!
//! A backup is a directory: the metadata database (`pg_dump` custom format,
//! or an online `VACUUM INTO` copy of SQLite), every stored object as the
//! ciphertext it is, the signed audit checkpoints, and `manifest.json`
//! (written last: a directory without it is an unfinished backup) listing
//! each object's length and SHA-256 and the database file's SHA-256.
//! The database is dumped *before* the objects are listed: objects are
//! immutable and only `gc` or crypto-shredding delete them, so every object
//! the dump refers to is copied (an object written in between is an orphan
//! `gc` collects later).
//!
//! The master key ring is not in the backup: it would put the keys beside
//! the data they protect. `--keys-to` copies the key files (master ring,
//! audit signing key, separator-sheet key) to a separate place.
//!
//! A restore goes into an empty environment: objects first (resumable: one
//! already there with the right length is kept), then the database in one
//! transaction, so a database present means a finished restore.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::{
    app::Vault,
    config::{Config, MasterKeySource},
    store::{ObjectKey, ObjectStore},
};

const MANIFEST: &str = "manifest.json";
const PG_DUMP: &str = "database.pgdump";
const SQLITE_COPY: &str = "database.sqlite";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    /// `postgres` or `sqlite`.
    pub database: String,
    /// SHA-256 of the database file (format 2; format 1 backups lack it).
    #[serde(default)]
    pub database_sha256: Option<String>,
    pub objects: Vec<ManifestObject>,
}

fn file_sha256(path: &Path) -> anyhow::Result<[u8; 32]> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hash = crate::crypto::Sha256::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hash.finish());
        }
        hash.update(&buf[..n]);
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestObject {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

fn is_postgres(url: &SecretString) -> bool {
    !url.expose_secret().starts_with("sqlite:")
}

/// A PostgreSQL URL without its password, and the password (passed to
/// libpq's tools in `PGPASSWORD`, never on their command line).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), None) };
    let Some((auth, host)) = rest.split_once('@') else { return (url.to_owned(), None) };
    match auth.split_once(':') {
        Some((user, pass)) => (format!("{scheme}://{user}@{host}"), Some(pass.to_owned())),
        None => (url.to_owned(), None),
    }
}

fn libpq_tool(tool: &str, url: &SecretString) -> Command {
    let (bare, password) = split_password(url.expose_secret());
    let mut c = Command::new(tool);
    c.arg(format!("--dbname={bare}"));
    if let Some(p) = password {
        c.env("PGPASSWORD", p);
    }
    c
}

fn run(mut c: Command, what: &str) -> anyhow::Result<()> {
    let out = c.output().with_context(|| format!("cannot run {what} (is the PostgreSQL client installed?)"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn sqlite_path(url: &SecretString) -> PathBuf {
    let u = url.expose_secret();
    let path = u.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// Writes a backup of `vault` into `dir` (which must be absent or empty).
pub async fn backup(vault: &Vault, dir: &Path, progress: impl Fn(usize, usize)) -> anyhow::Result<Manifest> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty: back up into a new directory", dir.display());
    }
    std::fs::create_dir_all(dir.join("objects")).with_context(|| format!("cannot create {}", dir.display()))?;
    let url = &vault.config().database_url;
    let database = if is_postgres(url) {
        let mut c = libpq_tool("pg_dump", url);
        c.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(dir.join(PG_DUMP));
        run(c, "pg_dump")?;
        "postgres"
    } else {
        let target = dir.join(SQLITE_COPY);
        vault.db().copy_sqlite_to(&target).await.context("copying the SQLite database")?;
        "sqlite"
    };
    let database_sha256 =
        hex::encode(file_sha256(&dir.join(if database == "postgres" { PG_DUMP } else { SQLITE_COPY }))?);
    // Dossier objects, then the audit checkpoints: without them a restored
    // journal could not be verified.
    let mut keys: Vec<ObjectKey> =
        vault.store().list().await.context("listing the object store")?.into_iter().map(|l| l.key).collect();
    keys.extend(vault.store().list_checkpoints().await.context("listing the audit checkpoints")?);
    let total = keys.len();
    let mut objects = Vec::with_capacity(total);
    for (i, key) in keys.iter().enumerate() {
        let mut reader = vault.store().reader(key).await?;
        let path = dir.join("objects").join(key.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&path)?;
        let mut hash = crate::crypto::Sha256::default();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            file.write_all(&buf[..n])?;
            size += n as u64;
        }
        file.sync_all()?;
        objects.push(ManifestObject { key: key.path(), size, sha256: hex::encode(hash.finish()) });
        if (i + 1) % 100 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }
    let manifest = Manifest {
        format: 2,
        created_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        database: database.into(),
        database_sha256: Some(database_sha256),
        objects,
    };
    crate::keys::write_private_file(&dir.join(MANIFEST), &serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

/// Copies the key files to `to`, which must be outside the backup.
pub fn copy_keys(config: &Config, backup: &Path, to: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let (b, t) = (std::path::absolute(backup)?, std::path::absolute(to)?);
    if t.starts_with(&b) {
        bail!("--keys-to must be outside the backup directory: keys kept with the data protect nothing");
    }
    std::fs::create_dir_all(to)?;
    let mut files = vec![config.audit_key_file.clone(), config.sheet_key_file.clone()];
    match &config.master_key {
        MasterKeySource::File(p) | MasterKeySource::Development(p) => files.push(p.clone()),
        MasterKeySource::Inline(_) => {
            eprintln!("the master key ring is given inline (VAULT_MASTER_KEY): keep it where it is stored")
        }
    }
    let mut copied = Vec::new();
    for f in files {
        let name = f.file_name().context("key file without a name")?;
        let dest = to.join(name);
        crate::keys::write_private_file(
            &dest,
            &std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?,
        )?;
        copied.push(dest);
    }
    Ok(copied)
}

/// Restores a backup into the configured (empty) database and object store.
pub async fn restore(config: &Config, dir: &Path, progress: impl Fn(usize, usize)) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join(MANIFEST))
            .with_context(|| format!("{} has no {MANIFEST}: not a finished backup", dir.display()))?,
    )
    .context("the manifest is not readable")?;
    let url = &config.database_url;
    let want = if is_postgres(url) { "postgres" } else { "sqlite" };
    if manifest.database != want {
        bail!("the backup holds a {} database; the configured one is {want}", manifest.database);
    }
    let dump = dir.join(if want == "postgres" { PG_DUMP } else { SQLITE_COPY });
    if let Some(want_sum) = &manifest.database_sha256
        && hex::encode(file_sha256(&dump)?) != *want_sum
    {
        bail!("the database file of the backup is damaged (its SHA-256 differs from the manifest)");
    }
    // The database must be empty before anything is written.
    if want == "postgres" {
        let db = crate::db::Db::connect(url, false, crate::config::DEFAULT_DATABASE_TIMEOUT).await?;
        let tables = db.public_tables().await.context("inspecting the target database")?;
        db.close().await;
        if tables > 0 {
            bail!("the target database is not empty ({tables} tables): restore into a new database");
        }
    } else if sqlite_path(url).exists() {
        bail!("{} exists: restore into a new database", sqlite_path(url).display());
    }

    let store = ObjectStore::open(&config.object_store).await?;
    let total = manifest.objects.len();
    for (i, o) in manifest.objects.iter().enumerate() {
        let key =
            ObjectKey::parse(&o.key).with_context(|| format!("the manifest names a foreign object {:?}", o.key))?;
        let bytes = std::fs::read(dir.join("objects").join(&o.key))
            .with_context(|| format!("object {} missing from the backup", o.key))?;
        let sum = hex::encode(crate::crypto::sha256(&bytes));
        if bytes.len() as u64 != o.size || sum != o.sha256 {
            bail!("object {} in the backup is damaged (length or SHA-256 differs from the manifest)", o.key);
        }
        match store.len(&key).await? {
            Some(n) if n == o.size => {} // restored by an earlier, interrupted run
            Some(_) => bail!("the target store already holds a different {}: restore into an empty store", o.key),
            None => {
                let mut w = store.writer(&key).await?;
                w.write(bytes).await?;
                let n = w.finish().await?;
                if n != o.size {
                    bail!("object {} stored with {n} bytes instead of {}", o.key, o.size);
                }
            }
        }
        if (i + 1) % 100 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }

    if want == "postgres" {
        let mut c = libpq_tool("pg_restore", url);
        c.args(["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]).arg(dir.join(PG_DUMP));
        run(c, "pg_restore")?;
    } else {
        let target = sqlite_path(url);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = target.with_extension("restoring");
        std::fs::copy(dir.join(SQLITE_COPY), &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &target)?;
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn passwords_leave_the_url() {
        assert_eq!(
            split_password("postgres://vault:s3cret@db:5432/vault"),
            ("postgres://vault@db:5432/vault".into(), Some("s3cret".into()))
        );
        assert_eq!(split_password("postgres://vault@db/v"), ("postgres://vault@db/v".into(), None));
    }
}
