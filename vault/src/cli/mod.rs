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
/// master key (not for real use). Every setting is also an environment
/// variable (shown in brackets) and a key of the --config TOML file; each
/// command's --help lists the settings it reads.
#[derive(Debug, Parser)]
#[command(name = "dnu-vault", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (stops gracefully on SIGTERM, finishing in-flight uploads).
    Serve(Settings),
    /// Apply pending database migrations.
    Migrate(Settings),
    /// Manage organisations and agents.
    Admin {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        cmd: admin::AdminCommand,
    },
    /// Manage master keys: rotate, rewrap, status, retire.
    Keys {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        cmd: keys::KeysCommand,
    },
    /// The audit journal: verify the chain, write a signed checkpoint.
    Audit {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        cmd: AuditCommand,
    },
    /// Erase the dossiers radiated a year ago or more (décret 2017-917): key shredded, objects and personal
    /// metadata deleted, a tombstone kept (the number then answers 410 Gone).
    Purge {
        #[command(flatten)]
        settings: Settings,
        #[command(flatten)]
        day: DayArgs,
    },
    /// A demand's legal year: the daily pass that `serve` runs at VAULT_LIFECYCLE_AT, by hand.
    Lifecycle {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        cmd: LifecycleCommand,
    },
    /// Delete orphaned objects left by interrupted uploads and erased dossiers.
    Gc {
        #[command(flatten)]
        settings: Settings,
        /// Only touch objects older than this many hours (an upload in flight is never collected).
        #[arg(long, default_value_t = 24)]
        grace_hours: u64,
    },
    /// Check that every registered object is in the store (exit status 1 if not).
    Check {
        #[command(flatten)]
        settings: Settings,
        /// Also decrypt every original and compare its SHA-256 with the one recorded at upload.
        #[arg(long)]
        deep: bool,
    },
    /// Read back and verify every stored object the scrubber's current cycle has not reached yet, now.
    ///
    /// `serve` does the same in the background over VAULT_SCRUB_CYCLE_SECONDS (30 days); what fails is
    /// recorded (audit event, metric) and listed by `check` with its dossier and piece.
    Scrub {
        #[command(flatten)]
        settings: Settings,
        /// Every dossier, from the first, whatever the cycle has done.
        #[arg(long)]
        all: bool,
    },
    /// Back up the database (pg_dump, or a copy of SQLite) and every stored object (ciphertext) into DIR.
    ///
    /// DIR must be new or empty; manifest.json, written last, lists each object's length and SHA-256.
    /// The master key ring is not included: copy the key files elsewhere with --keys-to.
    Backup {
        #[command(flatten)]
        settings: Settings,
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
        #[command(flatten)]
        settings: Settings,
        /// The backup directory.
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
    /// Internal: parse one upload in a confined process (run by the server, not by people).
    #[command(hide = true)]
    IntakeWorker(crate::sandbox::WorkerArgs),
    /// Seed a demo territory (a guichet, two bailleurs, a dossier) and print the credentials.
    Demo {
        #[command(flatten)]
        settings: Settings,
        /// Print what was seeded as JSON (for scripts).
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// The settings given with the command (none for the intake worker).
    pub fn settings(&self) -> Option<&Settings> {
        match self {
            Self::Serve(s) | Self::Migrate(s) => Some(s),
            Self::Admin { settings, .. }
            | Self::Keys { settings, .. }
            | Self::Audit { settings, .. }
            | Self::Gc { settings, .. }
            | Self::Purge { settings, .. }
            | Self::Lifecycle { settings, .. }
            | Self::Check { settings, .. }
            | Self::Scrub { settings, .. }
            | Self::Backup { settings, .. }
            | Self::Restore { settings, .. }
            | Self::Demo { settings, .. } => Some(settings),
            Self::IntakeWorker(_) => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Run the daily pass as of a day: renewal notices (CCH R.441-2-7) for demands expiring within the lead,
    /// radiation for non-renewal (e) a month after the notice, radiation for (c)/(d) a month after the warning,
    /// the purge a year after radiation; then send the e-mails waiting in the outbox.
    ///
    /// Running it again, or on two machines at once, issues nothing twice. Prints what it did (or would do).
    Run(DayArgs),
}

/// The day a job runs as of, and how it reports.
#[derive(Debug, clap::Args)]
pub struct DayArgs {
    /// As of this day (YYYY-MM-DD) [default: today; for the pass, in VAULT_LIFECYCLE_TIME_ZONE].
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Only count what would be done; nothing is written, erased or sent.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and check it against the signed checkpoints (exit status 1 on any problem).
    Verify {
        /// Most age of the newest checkpoint, in hours (running servers re-sign every few minutes); 0 for none, when verifying a backup of a stopped vault.
        #[arg(long, default_value_t = 24, value_name = "HOURS")]
        max_checkpoint_age_hours: i64,
    },
    /// Write a signed checkpoint of the chain head to the object store now.
    Checkpoint,
    /// Print events as JSON lines (ids, names and times; no personal data), oldest first.
    Events {
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        after: i64,
        /// Only events recorded while serving this request (its X-Request-Id answer header).
        #[arg(long, value_name = "ID")]
        request: Option<String>,
    },
}

/// The command line. Each command takes the settings (and the environment
/// variables) after its name; its `--help` lists those it reads: the
/// server's own (listening, upload limits, intake workers, sign-in) only
/// under `serve`, where they mean something.
pub fn command() -> clap::Command {
    use crate::config::heading;
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in names.iter().filter(|n| n.as_str() != "serve") {
        // The daily pass's settings also mean something to `lifecycle`.
        let lifecycle = name.as_str() == "lifecycle";
        cmd = cmd.mut_subcommand(name, |mut s| {
            let ids: Vec<clap::Id> = s
                .get_arguments()
                .filter(|a| match a.get_help_heading() {
                    Some(heading::SERVER | heading::SIGN_IN) => true,
                    Some(heading::NOTICES) => !lifecycle,
                    _ => false,
                })
                .map(|a| a.get_id().clone())
                .collect();
            // Still accepted (one environment serves every command), not listed.
            for id in ids {
                s = s.mut_arg(id, |a| a.hide(true));
            }
            s
        });
    }
    cmd
}

/// Parses the command line, runs the command, maps failure to exit code 1.
pub fn main() -> ExitCode {
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The worker runs before any runtime or logging exists: single-threaded,
    // so its seccomp filter covers the whole process.
    if let Command::IntakeWorker(args) = &cli.command {
        return crate::sandbox::worker::main(args);
    }
    // Every other command holds keys: no same-uid process (an intake
    // worker that escaped its jail, a compromised neighbour) may read this
    // process's memory or /proc/<pid>/environ, nor attach to it; no core
    // dump carries its keys either.
    if let Err(e) = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable) {
        eprintln!("warning: cannot mark the process non-dumpable: {e}");
    }
    let json_logs = cli.command.settings().is_some_and(|s| s.log_format.as_deref() == Some("json"));
    init_tracing(json_logs);
    crate::memory::few_arenas();
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

/// `--as-of`, or `today`.
fn as_of_date(given: Option<&str>, today: time::Date) -> anyhow::Result<time::Date> {
    match given {
        Some(d) => crate::clock::parse_iso_date(d.trim())
            .map_err(|_| anyhow::anyhow!("--as-of {d:?}: expected a date such as 2027-12-03; nothing was done")),
        None => Ok(today),
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
    let settings = cli.command.settings().cloned().unwrap_or_default();
    let config = Config::resolve(settings).context("invalid configuration")?;
    match cli.command {
        Command::Serve(_) => {
            let app = Application::build(config).await.context("cannot start the vault")?;
            app.run_until_stopped().await.context("server failed")?;
        }
        Command::Migrate(_) => {
            let vault = Vault::open(config, Schema::Migrate).await.context("migration failed")?;
            eprintln!("database is up to date");
            vault.db().close().await;
        }
        Command::Admin { cmd, .. } => admin::run(open(config).await?, cmd).await?,
        Command::Keys { cmd, .. } => keys::run(config, cmd).await?,
        Command::Lifecycle { cmd: LifecycleCommand::Run(DayArgs { as_of, dry_run, json }), .. } => {
            let today = config.notices.zone.local(time::OffsetDateTime::now_utc()).date();
            let as_of = as_of_date(as_of.as_deref(), today)?;
            let vault = open(config).await?;
            let mut r = crate::jobs::lifecycle::run_pass(&vault, as_of, dry_run).await.context("the pass failed")?;
            if !dry_run {
                r.delivery =
                    Some(crate::notices::deliver(&vault, true, || false).await.context("sending e-mails failed")?);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let would = if dry_run { " (dry run: nothing done)" } else { "" };
                eprintln!(
                    "as of {}{would}: {} renewal notice(s), {} radiation(s) for non-renewal (e), {} after a warning (c, d), \
                     {} dossier(s) purged; pieces expired: {}, expiring within the lead: {}",
                    r.as_of,
                    r.renewal_notices,
                    r.radiated_non_renewal,
                    r.radiated_after_warning,
                    if dry_run { r.purge.due } else { r.purge.purged },
                    r.pieces_expired,
                    r.pieces_expiring
                );
                if let Some(d) = &r.delivery {
                    eprintln!(
                        "e-mails: {} sent, {} deferred, {} refused, {} waiting in the outbox",
                        d.sent, d.deferred, d.refused, d.waiting
                    );
                }
            }
        }
        Command::Purge { day: DayArgs { as_of, dry_run, json }, .. } => {
            let as_of = as_of_date(as_of.as_deref(), crate::clock::today())?;
            let vault = open(config).await?;
            let r = crate::jobs::purge::purge(&vault, as_of, dry_run).await.context("purge failed")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if dry_run {
                eprintln!("as of {}: {} dossier(s) due for purge (dry run: nothing erased)", r.as_of, r.due);
            } else {
                eprintln!("as of {}: {} dossier(s) purged, {} object(s) deleted", r.as_of, r.purged, r.objects);
            }
        }
        Command::Gc { grace_hours, .. } => {
            let vault = open(config).await?;
            let r =
                crate::jobs::gc::collect(&vault, Duration::from_secs(grace_hours * 3600)).await.context("gc failed")?;
            eprintln!(
                "scanned {} objects: kept {}, too recent {}, deleted {} orphans and {} of erased dossiers; removed {} unfinished uploads",
                r.scanned, r.kept, r.too_recent, r.deleted_orphans, r.deleted_shredded, r.incomplete_removed
            );
        }
        Command::Audit { cmd: AuditCommand::Verify { max_checkpoint_age_hours }, .. } => {
            let vault = open(config).await?;
            let options = crate::audit::VerifyOptions {
                max_checkpoint_age_ms: (max_checkpoint_age_hours > 0).then_some(max_checkpoint_age_hours * 3_600_000),
                ..Default::default()
            };
            let r = crate::audit::verify_with(&vault, options).await.context("audit verification failed to run")?;
            for p in &r.problems {
                println!("{p}");
            }
            eprintln!("{} events, {} checkpoints, {} problems", r.events, r.checkpoints, r.problems.len());
            if !r.is_clean() {
                anyhow::bail!("the audit journal has been tampered with or damaged");
            }
        }
        Command::Audit { cmd: AuditCommand::Events { after, request }, .. } => {
            let vault = open(config).await?;
            let filter = crate::audit::ExportFilter { after, request };
            let n = crate::audit::export(&vault, &filter, &mut std::io::BufWriter::new(std::io::stdout()))
                .await
                .context("exporting the audit journal failed")?;
            eprintln!("{n} events");
        }
        Command::Audit { cmd: AuditCommand::Checkpoint, .. } => {
            let vault = open(config).await?;
            match crate::audit::write_checkpoint(&vault).await? {
                Some(cp) => eprintln!("checkpoint written at event {}", cp.seq),
                None => eprintln!("nothing new since the last checkpoint"),
            }
        }
        Command::Check { deep, .. } => {
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
            if !r.scrubbed_bad.is_empty() {
                eprintln!(
                    "{} objects failed the scrubber's verification (restore them from a backup):",
                    r.scrubbed_bad.len()
                );
            }
            for f in &r.scrubbed_bad {
                println!(
                    "scrub: dossier {} piece {} ({}) version {}: {} {}, found {}",
                    f.numero_unique,
                    f.piece,
                    f.kind,
                    f.version_number,
                    f.part,
                    f.problem,
                    crate::clock::rfc3339(f.found_at_ms / 1000)
                );
            }
            if !r.is_clean() {
                anyhow::bail!("the store does not match the registry");
            }
        }
        Command::Scrub { all, .. } => {
            let vault = open(config).await?;
            let r = crate::jobs::scrub::pass(&vault, all, |r| eprintln!("scrubbed {} dossiers…", r.dossiers))
                .await
                .context("scrub failed")?;
            eprintln!(
                "scrubbed {} dossiers, {} objects ({} MiB): {} failed verification ({} new); `check` lists them",
                r.dossiers,
                r.objects,
                r.bytes >> 20,
                r.problems.len(),
                r.new
            );
            if !r.problems.is_empty() {
                anyhow::bail!("stored objects failed verification");
            }
        }
        Command::Backup { dir, keys_to, .. } => {
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
        Command::Restore { dir, .. } => {
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
        Command::Demo { json, .. } => {
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
        super::command().debug_assert();
    }

    fn help(args: &[&str]) -> String {
        match super::command().try_get_matches_from(args) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn each_command_lists_the_settings_it_reads() {
        let serve = help(&["dnu-vault", "serve", "--help"]);
        for s in
            ["VAULT_LISTEN", "VAULT_MAX_UPLOAD_BYTES", "VAULT_INTAKE_WORKERS", "VAULT_DATABASE_URL", "VAULT_CONFIG"]
        {
            assert!(serve.contains(s), "serve --help lacks {s}");
        }
        for args in [&["dnu-vault", "backup", "--help"][..], &["dnu-vault", "keys", "init", "--help"]] {
            let h = help(args);
            for s in ["VAULT_DATABASE_URL", "VAULT_OBJECT_STORE", "VAULT_MASTER_KEY_FILE", "VAULT_CONFIG"] {
                assert!(h.contains(s), "{args:?} lacks {s}");
            }
            for s in ["VAULT_LISTEN", "VAULT_MAX_UPLOAD_BYTES", "VAULT_INTAKE_MEMORY_MIB"] {
                assert!(!h.contains(s), "{args:?} lists the server's {s}");
            }
            assert!(h.contains("Global options:") && h.contains("Keys:"), "{h}");
        }
        // The top level lists the commands, not 25 settings.
        let top = help(&["dnu-vault", "--help"]);
        assert!(top.contains("backup") && !top.contains("VAULT_DATABASE_URL"), "{top}");
        // Not listed under a command, a setting is still accepted there.
        let m = super::command().try_get_matches_from(["dnu-vault", "backup", "/tmp/b", "--listen", "127.0.0.1:1"]);
        assert!(m.is_ok(), "{m:?}");
    }
}
