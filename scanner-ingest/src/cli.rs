//! The command line: `convert`, `sheet`, `watch`, `status`, `retry`,
//! `discard`, `cleanup`. Settings come
//! from options or the environment (`SCANNER_*`); the agent's token only
//! from the environment or a file, never the command line (it would show
//! in `ps`).

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use dnu_api::sheet::SheetKey;

use crate::{
    convert,
    pdf_worker::PdfWorker,
    scan::PageClass,
    spool::Spool,
    upload::{Token, Vault},
    watch::Watcher,
};

#[derive(Debug, Parser)]
#[command(
    name = "scanner-ingest",
    version,
    about = "Turns a guichet's paper scans into compact PDFs and files them in the right dossier of DNU Vault",
    long_about = "Runs beside a scan-to-folder office scanner.\n\n\
        Print a separator sheet (`sheet`, or from the vault's guichet page) for each applicant and kind of piece, \
        put it in front of the papers, scan the whole stack into the watched folder: `watch` splits the batch at \
        the sheets, cleans each page (borders, skew, bitonal text, faithful photos, blank pages set aside) and \
        files one PDF per sheet in the right dossier, from a queue that survives crashes and vault outages."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Clean scans (JPEG, PNG, multi-page TIFF, scanners' PDFs) into one PDF.
    ///
    /// Blank pages are left out of OUT and kept aside in OUT's name with
    /// `.blanches.pdf`; each is listed.
    Convert {
        /// Scan files, in page order.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The PDF to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Pages cleaned at once (default: every core).
        #[arg(long, env = "SCANNER_THREADS")]
        threads: Option<usize>,
        /// Two files, the fronts then the backs of a stack scanned in two passes
        /// (backs in reverse order, the stack turned over): their pages are interleaved.
        #[arg(long)]
        recto_verso: bool,
    },
    /// Print a separator sheet for a dossier and a kind of piece.
    Sheet {
        /// Numéro unique of the dossier (18 characters).
        numero_unique: String,
        /// Kind of piece, as in the vault's catalogue (e.g. avis_imposition_n1).
        kind: String,
        #[arg(short, long)]
        output: PathBuf,
        /// The guichet's sheet key (`dnu-vault keys sheet-key --guichet …`), or the territory's.
        #[arg(long, env = "SCANNER_SHEET_KEY_FILE")]
        sheet_key_file: PathBuf,
        /// The guichet printing the sheet (5 characters); needed only with the territory's key.
        #[arg(long, env = "SCANNER_GUICHET")]
        guichet: Option<String>,
    },
    /// Watch the scanner's folder and file each batch in the vault.
    Watch {
        /// The folder the scanner writes to.
        dir: PathBuf,
        #[command(flatten)]
        spool: SpoolArgs,
        /// Base URL of the vault (https://…).
        #[arg(long, env = "SCANNER_VAULT_URL")]
        vault_url: String,
        /// File holding the guichet agent's token (or set SCANNER_TOKEN).
        #[arg(long, env = "SCANNER_TOKEN_FILE")]
        token_file: Option<PathBuf>,
        /// This guichet's sheet key (`dnu-vault keys sheet-key --guichet …`), or the territory's (VAULT_SHEET_KEY_FILE).
        #[arg(long, env = "SCANNER_SHEET_KEY_FILE")]
        sheet_key_file: PathBuf,
        /// Name of this scanning host in provenance (default: the host name).
        #[arg(long, env = "SCANNER_HOST")]
        host: Option<String>,
        /// Seconds without any change in the folder before a batch is taken.
        #[arg(long, env = "SCANNER_SETTLE_SECONDS", default_value_t = 5.0)]
        settle_seconds: f64,
        /// Longest wait between two tries of an upload, in seconds.
        #[arg(long, env = "SCANNER_RETRY_MAX_SECONDS", default_value_t = 300)]
        retry_max_seconds: u64,
        /// Pages cleaned at once (default: every core).
        #[arg(long, env = "SCANNER_THREADS")]
        threads: Option<usize>,
        /// Each batch is two files, the fronts then the backs of a stack scanned in two passes on a
        /// simplex feeder (backs in reverse order): their pages are interleaved.
        #[arg(long, env = "SCANNER_RECTO_VERSO")]
        recto_verso: bool,
        /// Days quarantined batches, blank pages and filing records are kept; older ones are deleted at start.
        #[arg(long, env = "SCANNER_KEEP_DAYS", default_value_t = KEEP_DAYS)]
        keep_days: u64,
    },
    /// Delete quarantined batches, blank pages and filing records older than the retention (never the queue).
    Cleanup {
        /// The watched folder (locates the default spool).
        dir: PathBuf,
        #[command(flatten)]
        spool: SpoolArgs,
        /// Days kept (scans of identity papers should not stay on a workstation longer than needed).
        #[arg(long, env = "SCANNER_KEEP_DAYS", default_value_t = KEEP_DAYS)]
        keep_days: u64,
    },
    /// (internal) Open one scanner PDF from stdin, confined; run by `watch` and `convert`.
    #[command(hide = true)]
    PdfWorker(crate::pdf_worker::WorkerArgs),
    /// Show the upload queue, quarantined batches and recent filings.
    Status {
        /// The watched folder (locates the default spool).
        dir: PathBuf,
        #[command(flatten)]
        spool: SpoolArgs,
        /// Batches scanned in the last DAYS are listed with their outcome.
        #[arg(long, default_value_t = 7)]
        days: u64,
        /// One JSON document, for monitoring.
        #[arg(long)]
        json: bool,
    },
    /// Send a quarantined lot through again, once its cause is fixed (the running watch takes it).
    Retry {
        /// The watched folder (locates the default spool).
        dir: PathBuf,
        #[command(flatten)]
        spool: SpoolArgs,
        /// The lot's name, as `status` lists it.
        lot: String,
    },
    /// Remove a quarantined lot for good, recording why (shown by `status`).
    Discard {
        /// The watched folder (locates the default spool).
        dir: PathBuf,
        #[command(flatten)]
        spool: SpoolArgs,
        /// The lot's name, as `status` lists it.
        lot: String,
        /// Why it is abandoned (required), e.g. "papiers rendus au demandeur, déposés en ligne".
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, clap::Args)]
struct SpoolArgs {
    /// Where accepted work waits until the vault has it (default: DIR/.scanner-ingest).
    #[arg(long, env = "SCANNER_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
    /// Where refused batches go, each with a RAISON.txt (default: DIR/quarantaine).
    #[arg(long, env = "SCANNER_QUARANTINE_DIR")]
    quarantine_dir: Option<PathBuf>,
    /// Where blank pages are kept aside (default: DIR/pages-blanches).
    #[arg(long, env = "SCANNER_BLANK_DIR")]
    blank_dir: Option<PathBuf>,
}

impl SpoolArgs {
    fn spool(&self, dir: &std::path::Path) -> Spool {
        Spool::new(
            self.spool_dir.clone().unwrap_or_else(|| dir.join(".scanner-ingest")),
            self.quarantine_dir.clone().unwrap_or_else(|| dir.join("quarantaine")),
            self.blank_dir.clone().unwrap_or_else(|| dir.join("pages-blanches")),
        )
    }
}

/// Days a workstation keeps quarantined batches, blank pages and filing
/// records (they name dossiers and hold scans of identity papers): 15, the
/// time a guichet has to digitise what it received.
const KEEP_DAYS: u64 = 15;

fn threads(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1)
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Convert { images, output, threads: t, recto_verso } => {
            convert_cmd(&images, &output, threads(t), recto_verso)
        }
        Command::PdfWorker(args) => {
            // Its exit status is its answer's; nothing else is printed.
            let code = crate::pdf_worker::worker_main(&args);
            std::process::exit(if code == std::process::ExitCode::SUCCESS { 0 } else { 1 });
        }
        Command::Sheet { numero_unique, kind, output, sheet_key_file, guichet } => {
            sheet_cmd(&numero_unique, &kind, &output, &sheet_key_file, guichet.as_deref())
        }
        Command::Watch {
            dir,
            spool,
            vault_url,
            token_file,
            sheet_key_file,
            host,
            settle_seconds,
            retry_max_seconds,
            threads: t,
            recto_verso,
            keep_days,
        } => {
            let token = match (token_file, std::env::var("SCANNER_TOKEN")) {
                (Some(f), _) => std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?,
                (None, Ok(t)) if !t.trim().is_empty() => t,
                _ => bail!("no token: set SCANNER_TOKEN_FILE (or --token-file), or SCANNER_TOKEN"),
            };
            let key = SheetKey::from_file(&sheet_key_file)?;
            let host = host.unwrap_or_else(host_name);
            // Checked now: the vault would refuse every piece's provenance.
            if !dnu_api::scan::valid_host(&host) {
                bail!("--host {host:?}: expected letters, digits, '-', '.' or '_' (at most 253)");
            }
            if !dir.is_dir() {
                bail!("{} is not a folder", dir.display());
            }
            if !(0.0..=3600.0).contains(&settle_seconds) {
                bail!("--settle-seconds must be between 0 and 3600");
            }
            let spool = spool.spool(&dir);
            spool.create()?;
            let gone =
                spool.forget_older_than(Duration::from_secs(keep_days * 86_400), std::time::SystemTime::now())?;
            if gone > 0 {
                eprintln!("retention: {gone} entries older than {keep_days} days deleted");
            }
            let watcher = Watcher {
                spool,
                dir,
                key,
                vault: Vault::new(&vault_url, Token::new(token))?,
                host,
                settle: Duration::from_secs_f64(settle_seconds),
                poll: Duration::from_millis(500),
                retry_max_secs: retry_max_seconds,
                threads: threads(t),
                pdf: PdfWorker::this_program().context("locating this program, to open PDFs")?,
                recto_verso,
            };
            let stop = Arc::new(AtomicBool::new(false));
            // SIGTERM/SIGINT end the loop after the step in hand (the queue
            // is durable either way, this only makes stopping prompt).
            for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
            }
            watcher.run(&stop)?;
            Ok(())
        }
        Command::Status { dir, spool, days, json } => crate::status::print(&spool.spool(&dir), days, json),
        Command::Retry { dir, spool, lot } => match crate::lots::retry(&spool.spool(&dir), &lot)? {
            crate::lots::Retried::Batch(b) => {
                println!("{lot} : renvoyé au traitement comme le lot {b} (le `watch` en cours le reprend)");
                Ok(())
            }
            crate::lots::Retried::Piece(j) => {
                println!("{lot} : pièce remise dans la file d'envoi au coffre ({j})");
                Ok(())
            }
        },
        Command::Discard { dir, spool, lot, reason } => {
            let d = crate::lots::discard(&spool.spool(&dir), &lot, &reason)?;
            println!(
                "{lot} : abandonné ({} fichier(s) supprimé(s)) ; raison enregistrée : {}",
                d.files.len(),
                d.reason
            );
            Ok(())
        }
        Command::Cleanup { dir, spool, keep_days } => {
            let spool = spool.spool(&dir);
            // Modes put right on a spool made by an older version too.
            spool.create()?;
            let gone =
                spool.forget_older_than(Duration::from_secs(keep_days * 86_400), std::time::SystemTime::now())?;
            eprintln!(
                "{gone} élément(s) de plus de {keep_days} jours supprimé(s) (quarantaine, pages blanches, relevés) ; \
                 la file d'envoi n'est jamais touchée"
            );
            Ok(())
        }
    }
}

fn convert_cmd(images: &[PathBuf], output: &std::path::Path, threads: usize, recto_verso: bool) -> anyhow::Result<()> {
    let progress = |done: usize, all: usize| eprint!("\rnettoyage des scans : {done}/{all}");
    let pdf = PdfWorker::this_program().context("locating this program, to open PDFs")?;
    let (sources, pages) = convert::clean_files(images, &pdf, false, threads, &progress)?;
    eprintln!();
    let pages = if recto_verso { convert::collate(&sources, pages).map_err(anyhow::Error::msg)? } else { pages };
    let (kept, blank): (Vec<_>, Vec<_>) = pages.iter().partition(|p| p.page.class != PageClass::Blank);
    if kept.is_empty() {
        bail!("every page is blank: nothing written");
    }
    let pdf = convert::pdf(&kept.iter().map(|p| &p.page).collect::<Vec<_>>())?;
    crate::spool::write_atomic(output, &pdf)?;
    let [text, gray, colour, _] = convert::census(pages.iter().map(|p| &p.page));
    println!(
        "{}: {} pages ({text} texte, {gray} niveaux de gris, {colour} couleur), {} octets",
        output.display(),
        kept.len(),
        pdf.len()
    );
    if !blank.is_empty() {
        let aside = output.with_extension("blanches.pdf");
        crate::spool::write_atomic(&aside, &convert::pdf(&blank.iter().map(|p| &p.page).collect::<Vec<_>>())?)?;
        println!("{} page(s) blanche(s) mise(s) de côté dans {} :", blank.len(), aside.display());
        for p in &blank {
            println!("  {}", crate::batch::page_name(&sources, p));
        }
    }
    Ok(())
}

fn sheet_cmd(
    nu: &str,
    kind: &str,
    output: &std::path::Path,
    key_file: &std::path::Path,
    guichet: Option<&str>,
) -> anyhow::Result<()> {
    let nu = nu.trim();
    dnu_api::numero_unique::check(nu)
        .map_err(|why| anyhow::anyhow!("invalid numéro unique ({why}); expected {}", dnu_api::numero_unique::FORMAT))?;
    let Some(label) = dnu_api::kind_label(kind) else {
        bail!("unknown piece kind {kind:?}: see the vault's catalogue (GET /api/v1/catalogue)");
    };
    let key = SheetKey::from_file(key_file)?;
    let guichet = match (guichet, key.guichet()) {
        (Some(g), _) => g.trim().to_owned(),
        (None, Some(own)) => own.to_owned(),
        (None, None) => bail!("--guichet: the territory's key prints for any guichet; say which one prints this sheet"),
    };
    let today = time::OffsetDateTime::now_utc().date();
    let payload = key.payload(nu, kind, &guichet, today)?;
    let issued = dnu_api::sheet::issued_line(&guichet, today);
    let printed = intake::sheet::Printed { nu, kind_label: &label, issued: &issued };
    let pdf = intake::sheet::render(&payload, printed).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::spool::write_atomic(output, &pdf)?;
    println!("{}: feuille de séparation pour {nu} — {label}", output.display());
    Ok(())
}

/// The machine's host name, made safe for provenance.
fn host_name() -> String {
    let raw = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "scanner".into());
    let clean: String =
        raw.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).take(253).collect();
    if clean.is_empty() { "scanner".into() } else { clean }
}
