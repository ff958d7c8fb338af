//! `dnu-vault keys …`: master key rotation and dossier key rewrapping.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::{
    app::{Schema, Vault},
    config::{Config, MasterKeySource},
    crypto::MasterKeys,
    keys::{AuditKey, Missing, SheetKey, load_or_create, master_ring, write_private_file},
};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the key files that are missing: master key ring (VAULT_MASTER_KEY_FILE), audit signing key, sheet key.
    ///
    /// Existing files are kept as they are: a key file is never replaced (use `keys rotate` for the master ring).
    Init,
    /// Add a new master key version to the key file; new dossier keys use it.
    Rotate,
    /// Rewrap every dossier key to the newest master key version (resumable; data is not re-encrypted).
    Rewrap {
        /// Dossier keys per batch.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Seal what an older vault kept in clear or unbound: household members' names, and version metadata not yet
    /// naming its piece and objects (run once after upgrading; resumable).
    Reseal,
    /// Write one guichet's separator-sheet key, for its scanner (scanner-ingest's SCANNER_SHEET_KEY_FILE).
    ///
    /// Derived from the territory's sheet key: it reads and prints that guichet's sheets only, so a key taken
    /// from one workstation forges no other guichet's sheets.
    SheetKey {
        /// The guichet's code (5 letters or digits, as in its numéros uniques).
        #[arg(long)]
        guichet: String,
        /// Where to write it (owner-only); the file must not exist.
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
    /// Show the master key versions and how many dossier keys each wraps.
    Status,
    /// Remove a master key version that no dossier key uses any more.
    Retire {
        /// The master key version to remove.
        #[arg(value_name = "VERSION")]
        key_version: u32,
    },
}

fn key_file(config: &Config) -> anyhow::Result<&std::path::Path> {
    match &config.master_key {
        MasterKeySource::File(p) | MasterKeySource::Development(p) => Ok(p),
        MasterKeySource::Inline(_) => {
            bail!(
                "the master key ring comes from VAULT_MASTER_KEY; edit it where it is stored, or use VAULT_MASTER_KEY_FILE"
            )
        }
    }
}

pub async fn run(config: Config, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Init => {
            let MasterKeySource::File(path) = &config.master_key else {
                bail!("set VAULT_MASTER_KEY_FILE to where the new master key ring should be written");
            };
            let (_, created) = load_or_create::<MasterKeys>(path, Missing::Create)?;
            if created {
                eprintln!(
                    "master key ring created at {} (owner-only); keep a copy apart from backups of the data",
                    path.display()
                );
            } else {
                eprintln!("master key ring kept: {} exists (it is never replaced; see `keys rotate`)", path.display());
            }
            // Both are created only when absent.
            load_or_create::<AuditKey>(&config.audit_key_file, Missing::Create)?;
            load_or_create::<SheetKey>(&config.sheet_key_file, Missing::Create)?;
            eprintln!(
                "audit signing key: {}; separator sheet key: {}",
                config.audit_key_file.display(),
                config.sheet_key_file.display()
            );
        }
        KeysCommand::Rotate => {
            let path = key_file(&config)?.to_owned();
            let mut ring = master_ring(&config.master_key)?;
            let v = ring.rotate()?;
            write_private_file(&path, ring.to_text().as_bytes()).context("cannot write the key file")?;
            eprintln!("master key version {v} added to {}; now run `dnu-vault keys rewrap`", path.display());
        }
        KeysCommand::Rewrap { batch } => {
            let vault = Vault::open(config, Schema::RequireCurrent).await?;
            let current = vault.keys().current();
            let mut err = std::io::stderr();
            let report = crate::jobs::rewrap::rewrap_all(&vault, batch, |done| {
                let _ = writeln!(err, "rewrapped {done} dossier keys to version {current}…");
            })
            .await
            .context("rewrap failed (run it again: it resumes)")?;
            eprintln!(
                "done: {} rewrapped, {} changed meanwhile; every dossier key is on version {current}",
                report.rewrapped, report.skipped
            );
        }
        KeysCommand::SheetKey { guichet, output } => {
            let guichet = crate::domain::GuichetCode::parse(&guichet)
                .map_err(|e| anyhow::anyhow!("--guichet {guichet:?}: {}", e.0))?;
            if output.exists() {
                bail!("{} exists: a key file is never replaced", output.display());
            }
            let (sheet, _) = load_or_create::<SheetKey>(&config.sheet_key_file, Missing::Refuse)?;
            write_private_file(&output, sheet.guichet_key_text(&guichet)?.as_bytes())
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!("{}: sheet key of guichet {guichet}; copy it to that guichet's scanner only", output.display());
        }
        KeysCommand::Reseal => {
            let vault = Vault::open(config, Schema::RequireCurrent).await?;
            let mut err = std::io::stderr();
            let report = crate::jobs::reseal::reseal_all(&vault, |r| {
                let _ = writeln!(err, "{} dossiers resealed…", r.dossiers);
            })
            .await
            .context("reseal failed (run it again: it resumes)")?;
            eprintln!(
                "done: {} dossiers, {} member names sealed, {} versions bound to their objects",
                report.dossiers, report.members, report.versions
            );
        }
        KeysCommand::Status => {
            let vault = Vault::open(config, Schema::RequireCurrent).await?;
            let in_use = vault.db().key_versions_in_use().await?;
            let ring = vault.keys();
            for v in ring.versions() {
                let n = in_use.iter().find(|(k, _)| *k == v).map_or(0, |(_, n)| *n);
                println!("version {v}{}: {n} dossier keys", if v == ring.current() { " (current)" } else { "" });
            }
            for (v, n) in in_use.iter().filter(|(v, _)| !ring.versions().any(|k| k == *v)) {
                println!("version {v} (MISSING from the key ring): {n} dossier keys");
            }
        }
        KeysCommand::Retire { key_version: version } => {
            let path = key_file(&config)?.to_owned();
            let vault = Vault::open(config, Schema::RequireCurrent).await?;
            let ring = vault.keys();
            if version == ring.current() {
                bail!("version {version} is the current one; rotate first");
            }
            if let Some((_, n)) =
                vault.db().key_versions_in_use().await?.into_iter().find(|(v, n)| *v == version && *n > 0)
            {
                bail!("version {version} still wraps {n} dossier keys; run `dnu-vault keys rewrap` first");
            }
            let text: String = ring
                .to_text()
                .lines()
                .filter(|l| l.split_whitespace().next() != Some(&version.to_string()))
                .map(|l| format!("{l}\n"))
                .collect();
            let retired = MasterKeys::parse(&text)?;
            if retired.versions().count() == ring.versions().count() {
                bail!("version {version} is not in the key ring");
            }
            write_private_file(&path, text.as_bytes())?;
            eprintln!("master key version {version} retired");
        }
    }
    Ok(())
}
