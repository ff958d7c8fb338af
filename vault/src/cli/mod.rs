//! The `dnu-vault` command line. `main.rs` only calls [`main`].

mod admin;
mod keys;

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    app::{Schema, Vault},
    config::{Config, Settings},
    startup::Application,
};

/// DNU Vault: the encrypted document vault of the dossier numérique unique.
///
/// With no configuration, `dnu-vault serve` runs on one machine with SQLite
/// and an object directory under ./vault-data, and a generated development
/// master key (not for real use). Every setting below is also an environment
/// variable (shown in brackets) and a key of the --config TOML file.
#[derive(Debug, Parser)]
#[command(name = "dnu-vault", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (stops gracefully on SIGTERM, finishing in-flight uploads).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage organisations and agents.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage master keys: rotate, rewrap, status, retire.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The audit journal: verify the chain, write a signed checkpoint.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Delete orphaned objects left by interrupted uploads and erased dossiers.
    Gc {
        /// Only touch objects older than this many hours (an upload in flight is never collected).
        #[arg(long, default_value_t = 24)]
        grace_hours: u64,
    },
    /// Check that every registered object is in the store (exit status 1 if not).
    Check {
        /// Also decrypt every original and compare its SHA-256 with the one recorded at upload.
        #[arg(long)]
        deep: bool,
    },
    /// Back up the database (pg_dump, or a copy of SQLite) and every stored object (ciphertext) into DIR.
    ///
    /// DIR must be new or empty; manifest.json, written last, lists each object's length and SHA-256.
    /// The master key ring is not included: copy the key files elsewhere with --keys-to.
    Backup {
        /// Directory to write the backup into.
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
        /// Also copy the key files (master ring, audit signing key, sheet key) here, outside DIR.
        #[arg(long, value_name = "KEYS_DIR")]
        keys_to: Option<std::path::PathBuf>,
    },
    /// Restore a backup made by `backup` into an empty database and object store (then run `check --deep` and `audit verify`).
    ///
    /// Objects are restored first (an interrupted restore can be run again), the database last, in one transaction.
    /// Put the key files where the configuration expects them before serving.
    Restore {
        /// The backup directory.
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
    /// Internal: parse one upload in a confined process (run by the server, not by people).
    #[command(hide = true)]
    IntakeWorker(crate::sandbox::WorkerArgs),
    /// Seed a demo territory (a guichet, two bailleurs, a dossier) and print the credentials.
    Demo {
        /// Print what was seeded as JSON (for scripts).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and check it against the signed checkpoints (exit status 1 on any problem).
    Verify,
    /// Write a signed checkpoint of the chain head to the object store now.
    Checkpoint,
}

/// Parses the command line, runs the command, maps failure to exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The worker runs before any runtime or logging exists: single-threaded,
    // so its seccomp filter covers the whole process.
    if let Command::IntakeWorker(args) = &cli.command {
        return crate::sandbox::worker::main(args);
    }
    let json_logs = matches!(cli.settings.log_format.as_deref(), Some("json"));
    init_tracing(json_logs);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::resolve(cli.settings).context("invalid configuration")?;
    match cli.command {
        Command::Serve => {
            let app = Application::build(config).await.context("cannot start the vault")?;
            app.run_until_stopped().await.context("server failed")?;
        }
        Command::Migrate => {
            let vault = Vault::open(config, Schema::Migrate).await.context("migration failed")?;
            eprintln!("database is up to date");
            vault.db().close().await;
        }
        Command::Admin(cmd) => admin::run(open(config).await?, cmd).await?,
        Command::Keys(cmd) => keys::run(config, cmd).await?,
        Command::Gc { grace_hours } => {
            let vault = open(config).await?;
            let r =
                crate::jobs::gc::collect(&vault, Duration::from_secs(grace_hours * 3600)).await.context("gc failed")?;
            eprintln!(
                "scanned {} objects: kept {}, too recent {}, deleted {} orphans and {} of erased dossiers; removed {} unfinished uploads",
                r.scanned, r.kept, r.too_recent, r.deleted_orphans, r.deleted_shredded, r.incomplete_removed
            );
        }
        Command::Audit(AuditCommand::Verify) => {
            let vault = open(config).await?;
            let r = crate::audit::verify(&vault).await.context("audit verification failed to run")?;
            for p in &r.problems {
                println!("{p}");
            }
            eprintln!("{} events, {} checkpoints, {} problems", r.events, r.checkpoints, r.problems.len());
            if !r.is_clean() {
                anyhow::bail!("the audit journal has been tampered with or damaged");
            }
        }
        Command::Audit(AuditCommand::Checkpoint) => {
            let vault = open(config).await?;
            match crate::audit::write_checkpoint(&vault).await? {
                Some(cp) => eprintln!("checkpoint written at event {}", cp.seq),
                None => eprintln!("nothing new since the last checkpoint"),
            }
        }
        Command::Check { deep } => {
            let vault = open(config).await?;
            let r = crate::jobs::check::check(&vault, deep, |done, total| eprintln!("checked {done}/{total} objects…"))
                .await
                .context("check failed")?;
            eprintln!(
                "{} objects: {} missing, {} with a wrong length; {} erased dossiers skipped{}",
                r.objects,
                r.missing.len(),
                r.wrong_length.len(),
                r.erased_dossiers,
                if deep {
                    format!("; {} originals verified, {} corrupt", r.verified, r.corrupt.len())
                } else {
                    String::new()
                }
            );
            for o in r.missing.iter().chain(&r.wrong_length).chain(&r.corrupt) {
                println!("{o}");
            }
            if !r.is_clean() {
                anyhow::bail!("the store does not match the registry");
            }
        }
        Command::Backup { dir, keys_to } => {
            let vault = open(config).await?;
            let m =
                crate::jobs::backup::backup(&vault, &dir, |done, total| eprintln!("copied {done}/{total} objects…"))
                    .await
                    .context("backup failed")?;
            let bytes: u64 = m.objects.iter().map(|o| o.size).sum();
            eprintln!(
                "backup written to {}: {} database, {} objects, {bytes} bytes",
                dir.display(),
                m.database,
                m.objects.len()
            );
            match keys_to {
                Some(to) => {
                    let files = crate::jobs::backup::copy_keys(vault.config(), &dir, &to)?;
                    eprintln!("{} key files copied to {}", files.len(), to.display());
                }
                None => eprintln!("the key files are not in the backup: keep copies apart (--keys-to)"),
            }
            vault.db().close().await;
        }
        Command::Restore { dir } => {
            let m = crate::jobs::backup::restore(&config, &dir, |done, total| {
                eprintln!("restored {done}/{total} objects…")
            })
            .await
            .context("restore failed")?;
            eprintln!(
                "restored {} objects and the {} database from {}; now run `dnu-vault check --deep` and `dnu-vault audit verify`",
                m.objects.len(),
                m.database,
                dir.display()
            );
        }
        Command::IntakeWorker(_) => anyhow::bail!("intake-worker runs only as the server's worker process"),
        Command::Demo { json } => {
            let vault = open(config).await?;
            let report = crate::jobs::demo::seed(&vault).await.context("demo seeding failed")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("Seeded a demo territory. Tokens are shown once.\n");
                for (o, a) in report.organisations.iter().zip(&report.agents) {
                    println!("{} ({}, SIREN {}, territory {})", o.name, o.kind, o.siren, o.territory.join(", "));
                    println!("  agent: {}\n  token: {}\n", a.name, a.token);
                }
                for d in &report.dossiers {
                    println!("dossier {} (communes {})", d.numero_unique, d.communes.join(", "));
                    println!(
                        "  applicant identifier: {}\n  applicant code: {}",
                        d.applicant.identifier, d.applicant.code
                    );
                }
            }
        }
    }
    Ok(())
}

/// Opens the vault for a command; the schema must be current.
async fn open(config: Config) -> anyhow::Result<Vault> {
    Vault::open(config, Schema::RequireCurrent).await.context("cannot open the vault")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
