//! Typed configuration, read once at start-up.
//!
//! Precedence: command-line flag, then environment variable `VAULT_*`, then
//! the TOML file given with `--config` (keys in lower case, with or without
//! the `vault_` prefix), then the embedded default. Secrets can also be read
//! from a file named by the `*_FILE` variant and are held in `secrecy` types.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use secrecy::SecretString;

use crate::error::Error;

/// Most audit events one commit holds unless configured: a few hundred rows
/// insert in one or two statements, and a longer queue is better served by
/// the next commit than by one ever larger.
pub const DEFAULT_AUDIT_BATCH: usize = 256;

mod net;
mod notices;
mod settings;
mod signin;

pub use net::{Connections, Proxies};
pub use notices::{MIN_NOTICE_LEAD_DAYS, NoticeConfig, SmtpConfig, SmtpSecurity};
pub use settings::Settings;
pub(crate) use signin::checked_url;
pub use signin::{ProviderConfig, ProviderKind, SignInConfig};

/// Default largest accepted upload: 20 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024;

/// The headings settings are listed under in `--help`; each command lists
/// those it reads (`crate::cli::command`).
pub mod heading {
    /// Read by every command.
    pub const GLOBAL: &str = "Global options";
    /// The metadata database and the object store.
    pub const STORAGE: &str = "Database and object store";
    /// The three key files.
    pub const KEYS: &str = "Keys";
    /// The access policy set and the numbers this vault issues.
    pub const POLICY: &str = "Policy and numbering";
    /// Only the HTTP server (`serve`): listening, upload limits, intake workers.
    pub const SERVER: &str = "Server";
    /// How people sign in: ProConnect, FranceConnect, tokens on the pages.
    pub const SIGN_IN: &str = "Sign-in";
    /// A demand's year (`serve` and `lifecycle`): the daily pass, the notices, SMTP.
    pub const NOTICES: &str = "Notices and the daily pass";
}

/// Where the master key ring comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    File(PathBuf),
    Inline(SecretString),
    /// Generated in the data directory on first use: development only.
    Development(PathBuf),
}

#[derive(Debug, Clone)]
pub enum ObjectStoreConfig {
    Local(PathBuf),
    S3(S3Settings),
}

/// Where and how to reach the bucket.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing slash).
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    /// Explicit credentials; when absent the standard AWS chain is used
    /// (`AWS_ACCESS_KEY_ID`…, profile, web identity, instance metadata).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Longest one request to the store may take before it is abandoned
    /// (and retried): a stalled store must not hold a client forever.
    pub attempt_timeout: Duration,
    /// Tries of one request, the first included, before the client's
    /// request fails with 503.
    pub max_attempts: u32,
}

/// A part of 8 MiB needs a few seconds on a slow link; 30 s is a store
/// that stopped answering.
pub const DEFAULT_S3_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_S3_MAX_ATTEMPTS: u32 = 3;

impl S3Settings {
    /// Parses `s3://bucket/prefix`.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::Config(format!("object store {url:?} is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Config(format!("object store {url:?} names no bucket")));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            attempt_timeout: DEFAULT_S3_ATTEMPT_TIMEOUT,
            max_attempts: DEFAULT_S3_MAX_ATTEMPTS,
            ..Self::default()
        })
    }
}

/// How fast `serve`'s scrubber re-reads the stored objects.
#[derive(Debug, Clone, Copy)]
pub struct ScrubPace {
    /// One cycle over every object takes this long.
    pub cycle: Duration,
    /// Never read faster than this.
    pub max_bytes_per_s: u64,
}

impl Default for ScrubPace {
    fn default() -> Self {
        Self { cycle: Duration::from_secs(30 * 86_400), max_bytes_per_s: 16 << 20 }
    }
}

/// How long a query waits for a database connection unless told otherwise
/// (`VAULT_DATABASE_TIMEOUT_SECONDS`).
pub const DEFAULT_DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: SecretString,
    /// How long a query waits for a database connection.
    pub database_timeout: Duration,
    /// True when the database is the embedded default (created on demand).
    pub embedded_database: bool,
    pub object_store: ObjectStoreConfig,
    pub master_key: MasterKeySource,
    /// The audit checkpoint signing key (PKCS#8, base64).
    pub audit_key_file: PathBuf,
    /// The separator sheets' HMAC key (hex), shared with scanner-ingest.
    pub sheet_key_file: PathBuf,
    pub max_upload_bytes: u64,
    /// An upload body silent this long is cut off.
    pub upload_idle: Duration,
    /// Uploads in progress at once: in all, and per caller.
    pub max_uploads: usize,
    pub max_uploads_per_caller: usize,
    /// Dossier PDF exports composed at once, and waiting in line.
    pub max_exports: usize,
    pub export_queue: usize,
    /// Most audit events in one commit (group commit; 1: each alone).
    pub audit_batch: usize,
    /// What one dossier may hold.
    pub quota: DossierQuota,
    pub nu_territory: String,
    /// `None`: the built-in default policy set.
    pub policy_dir: Option<PathBuf>,
    pub json_logs: bool,
    /// Whether a request's `X-Request-Id` header (set by a trusted proxy)
    /// names it in the logs; otherwise the vault makes one.
    pub trust_request_id: bool,
    /// Whether the last `X-Forwarded-For` entry (appended by a trusted
    /// proxy) is the client's address; otherwise the connection's.
    pub trust_forwarded_for: bool,
    /// Who the pages say runs the service.
    pub operator: Operator,
    /// What a connection may hold and take (slow and abusive clients).
    pub connections: Connections,
    /// The background scrubber's pace.
    pub scrub: ScrubPace,
    pub intake: IntakeConfig,
    pub signin: SignInConfig,
    pub notices: NoticeConfig,
}

/// Who runs the service, as the pages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// A State body: the pages carry the State's brand block and fonts,
    /// which the State reserves to its own services.
    pub state: bool,
}

impl Default for Operator {
    fn default() -> Self {
        Self { name: "Fichier partagé de la demande de logement social".into(), state: false }
    }
}

impl Operator {
    fn new(name: Option<String>, state: bool) -> Result<Self, Error> {
        let name = match name.map(|n| n.trim().to_owned()) {
            None => Self::default().name,
            Some(n) if n.is_empty() || n.chars().count() > 120 || n.chars().any(char::is_control) => {
                return Err(Error::Config(
                    "VAULT_OPERATOR_NAME: give the operator's name, 1 to 120 characters on one line".into(),
                ));
            }
            Some(n) => n,
        };
        Ok(Self { name, state })
    }
}

/// What one dossier may hold. A dossier is a few dozen pieces of a few
/// pages; without a bound, an applicant could grow theirs until partners'
/// exports of it exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DossierQuota {
    /// Versions of pieces, all pieces together.
    pub versions: u64,
    /// Bytes of originals.
    pub bytes: u64,
    /// Pages of renditions.
    pub pages: u64,
}

impl Default for DossierQuota {
    fn default() -> Self {
        Self { versions: 200, bytes: 500 << 20, pages: 600 }
    }
}

/// How uploads are parsed: in worker processes, under these limits.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// The executable re-run as `intake-worker` (this binary; tests point
    /// it at the built `dnu-vault`).
    pub exe: PathBuf,
    pub memory_mib: u64,
    pub cpu_seconds: u64,
    /// Wall-clock limit once the whole upload has reached the worker.
    pub timeout: Duration,
    pub workers: usize,
    pub max_pages: usize,
}

impl IntakeConfig {
    fn defaults(exe: PathBuf) -> Self {
        Self {
            exe,
            memory_mib: 1024,
            cpu_seconds: 60,
            timeout: Duration::from_secs(120),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            max_pages: 200,
        }
    }
}

fn read_secret_file(path: &Path, what: &str) -> Result<String, Error> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {what} file {}: {e}", path.display())))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

impl Config {
    /// Whether a request that came over a connection from `peer` may name
    /// its client with `X-Forwarded-For` (and its scheme with
    /// `X-Forwarded-Proto`): the operator said a proxy appends them, and
    /// the connection comes from one of the trusted proxies. A request
    /// built in-process (`None`: the tests' router calls) has no peer to
    /// doubt.
    pub fn believes_forwarded(&self, peer: Option<std::net::IpAddr>) -> bool {
        self.trust_forwarded_for && peer.is_none_or(|ip| self.connections.trusted_proxies.contains(ip))
    }
}

impl Config {
    /// Applies the file, the defaults and the checks. Every error names the
    /// setting at fault.
    pub fn resolve(settings: Settings) -> Result<Self, Error> {
        let s = settings.merged()?;
        let signin = SignInConfig::resolve(&s)?;
        let notices = NoticeConfig::resolve(&s)?;
        let listen_s = s.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen_s.parse().map_err(|_| {
            Error::Config(format!("VAULT_LISTEN {listen_s:?} is not an address such as 127.0.0.1:8080"))
        })?;
        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("./vault-data"));

        let url = match (s.database_url, s.database_url_file) {
            (Some(_), Some(_)) => {
                return Err(Error::Config("set VAULT_DATABASE_URL or VAULT_DATABASE_URL_FILE, not both".into()));
            }
            (Some(u), None) => Some(u),
            (None, Some(f)) => Some(read_secret_file(&f, "database URL")?),
            (None, None) => None,
        };
        let embedded_database = url.is_none();
        let url = url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("vault.db").display()));
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::Config("VAULT_DATABASE_URL must start with sqlite: or postgres://".into()));
        }

        let object_store = match s.object_store {
            Some(u) if u.starts_with("s3://") => {
                let secret = match (s.s3_secret_access_key, s.s3_secret_access_key_file) {
                    (Some(k), _) => Some(k),
                    (None, Some(f)) => Some(read_secret_file(&f, "S3 secret key")?),
                    (None, None) => None,
                };
                if s.s3_access_key_id.is_some() != secret.is_some() {
                    return Err(Error::Config(
                        "set both VAULT_S3_ACCESS_KEY_ID and VAULT_S3_SECRET_ACCESS_KEY, or neither".into(),
                    ));
                }
                let attempt_timeout = match s.s3_timeout_seconds {
                    Some(0) => return Err(Error::Config("VAULT_S3_TIMEOUT_SECONDS must be positive".into())),
                    Some(n) => Duration::from_secs(n),
                    None => DEFAULT_S3_ATTEMPT_TIMEOUT,
                };
                let max_attempts = match s.s3_max_attempts {
                    Some(n @ 1..=10) => n,
                    Some(_) => return Err(Error::Config("VAULT_S3_MAX_ATTEMPTS must be between 1 and 10".into())),
                    None => DEFAULT_S3_MAX_ATTEMPTS,
                };
                ObjectStoreConfig::S3(S3Settings {
                    attempt_timeout,
                    max_attempts,
                    endpoint: s.s3_endpoint,
                    region: s.s3_region,
                    path_style: s.s3_path_style.unwrap_or(true),
                    access_key_id: s.s3_access_key_id,
                    secret_access_key: secret.map(SecretString::from),
                    ..S3Settings::from_url(&u)?
                })
            }
            Some(u) if u.contains("://") => {
                return Err(Error::Config(format!(
                    "VAULT_OBJECT_STORE {u:?}: expected a directory or s3://bucket/prefix"
                )));
            }
            Some(dir) => ObjectStoreConfig::Local(PathBuf::from(dir)),
            None => ObjectStoreConfig::Local(data_dir.join("objects")),
        };

        let master_key = match (s.master_key_file, s.master_key) {
            (Some(_), Some(_)) => {
                return Err(Error::Config("set VAULT_MASTER_KEY_FILE or VAULT_MASTER_KEY, not both".into()));
            }
            (Some(f), None) => MasterKeySource::File(f),
            (None, Some(k)) => MasterKeySource::Inline(SecretString::from(k)),
            (None, None) => MasterKeySource::Development(data_dir.join("dev-master.key")),
        };

        let audit_key_file = s.audit_key_file.unwrap_or_else(|| data_dir.join("audit-signing.key"));
        let sheet_key_file = s.sheet_key_file.unwrap_or_else(|| data_dir.join("sheet-hmac.key"));
        let max_upload_bytes = s.max_upload_bytes.unwrap_or(DEFAULT_MAX_UPLOAD_BYTES);
        if max_upload_bytes == 0 {
            return Err(Error::Config("VAULT_MAX_UPLOAD_BYTES must be positive".into()));
        }
        let upload_idle = Duration::from_secs(s.upload_idle_seconds.unwrap_or(30).max(1));
        let max_uploads = s.max_uploads.unwrap_or(64).max(1);
        let max_uploads_per_caller = s.max_uploads_per_caller.unwrap_or(8).max(1);
        let max_exports = s.max_exports.unwrap_or_else(one_per_core).max(1);
        let export_queue = s.export_queue.unwrap_or(8);
        let audit_batch = s.audit_batch.unwrap_or(DEFAULT_AUDIT_BATCH).max(1);
        let nu_territory = s.nu_territory.unwrap_or_else(|| "000".into());
        if nu_territory.len() != 3 || !nu_territory.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(Error::Config(format!(
                "VAULT_NU_TERRITORY {nu_territory:?}: expected 3 digits or capital letters"
            )));
        }
        let json_logs = match s.log_format.as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(Error::Config(format!("VAULT_LOG_FORMAT {other:?}: expected text or json"))),
        };
        let defaults = IntakeConfig::defaults(
            std::env::current_exe()
                .map_err(|e| Error::Config(format!("cannot find this executable to run intake workers: {e}")))?,
        );
        let positive = |v: Option<u64>, name: &str, default: u64| match v {
            Some(0) => Err(Error::Config(format!("{name} must be positive"))),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let memory_mib = positive(s.intake_memory_mib, "VAULT_INTAKE_MEMORY_MIB", defaults.memory_mib)?;
        if memory_mib < 64 {
            return Err(Error::Config("VAULT_INTAKE_MEMORY_MIB: at least 64 MiB are needed to read a document".into()));
        }
        let d = Connections::default();
        let secs = |v, name, default: Duration| positive(v, name, default.as_secs()).map(Duration::from_secs);
        let connections = Connections {
            header_timeout: secs(s.header_timeout_seconds, "VAULT_HEADER_TIMEOUT_SECONDS", d.header_timeout)?,
            body_deadline: secs(s.upload_deadline_seconds, "VAULT_UPLOAD_DEADLINE_SECONDS", d.body_deadline)?,
            max: positive(s.max_connections.map(|n| n as u64), "VAULT_MAX_CONNECTIONS", d.max as u64)? as usize,
            per_client: positive(
                s.max_connections_per_client.map(|n| n as u64),
                "VAULT_MAX_CONNECTIONS_PER_CLIENT",
                d.per_client as u64,
            )? as usize,
            trusted_proxies: s.trusted_proxies.as_deref().map(Proxies::parse).transpose()?.unwrap_or(d.trusted_proxies),
        };
        let ds = ScrubPace::default();
        let scrub = ScrubPace {
            cycle: secs(s.scrub_cycle_seconds, "VAULT_SCRUB_CYCLE_SECONDS", ds.cycle)?,
            max_bytes_per_s: positive(
                s.scrub_max_mib_per_second,
                "VAULT_SCRUB_MAX_MIB_PER_SECOND",
                ds.max_bytes_per_s >> 20,
            )? << 20,
        };
        let intake = IntakeConfig {
            memory_mib,
            cpu_seconds: positive(s.intake_cpu_seconds, "VAULT_INTAKE_CPU_SECONDS", defaults.cpu_seconds)?,
            timeout: Duration::from_secs(positive(
                s.intake_timeout_seconds,
                "VAULT_INTAKE_TIMEOUT_SECONDS",
                defaults.timeout.as_secs(),
            )?),
            workers: positive(s.intake_workers.map(|n| n as u64), "VAULT_INTAKE_WORKERS", defaults.workers as u64)?
                as usize,
            max_pages: positive(
                s.intake_max_pages.map(|n| n as u64),
                "VAULT_INTAKE_MAX_PAGES",
                defaults.max_pages as u64,
            )? as usize,
            ..defaults
        };
        Ok(Self {
            intake,
            signin,
            notices,
            listen,
            data_dir,
            database_url: SecretString::from(url),
            database_timeout: Duration::from_secs(positive(
                s.database_timeout_seconds,
                "VAULT_DATABASE_TIMEOUT_SECONDS",
                DEFAULT_DATABASE_TIMEOUT.as_secs(),
            )?),
            embedded_database,
            object_store,
            master_key,
            audit_key_file,
            sheet_key_file,
            max_upload_bytes,
            upload_idle,
            max_uploads,
            max_uploads_per_caller,
            max_exports,
            export_queue,
            audit_batch,
            quota: DossierQuota::default(),
            nu_territory,
            policy_dir: s.policy_dir,
            json_logs,
            trust_request_id: s.trust_request_id.unwrap_or(false),
            trust_forwarded_for: s.trust_forwarded_for.unwrap_or(false),
            operator: Operator::new(s.operator_name, s.operator_state.unwrap_or(false))?,
            connections,
            scrub,
        })
    }

    /// A configuration for tests: everything under `dir`, SQLite or the given
    /// database, an ephemeral port.
    pub fn for_tests(dir: &Path, database_url: Option<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_owned(),
            embedded_database: database_url.is_none(),
            database_timeout: DEFAULT_DATABASE_TIMEOUT,
            database_url: SecretString::from(
                database_url.unwrap_or_else(|| format!("sqlite://{}", dir.join("vault.db").display())),
            ),
            object_store: ObjectStoreConfig::Local(dir.join("objects")),
            master_key: MasterKeySource::Development(dir.join("dev-master.key")),
            audit_key_file: dir.join("audit-signing.key"),
            sheet_key_file: dir.join("sheet-hmac.key"),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            upload_idle: Duration::from_secs(30),
            max_uploads: 64,
            max_uploads_per_caller: 8,
            max_exports: one_per_core(),
            export_queue: 8,
            audit_batch: DEFAULT_AUDIT_BATCH,
            quota: DossierQuota::default(),
            nu_territory: "059".into(),
            policy_dir: None,
            json_logs: false,
            trust_request_id: false,
            trust_forwarded_for: false,
            operator: Operator::default(),
            connections: Connections::default(),
            scrub: ScrubPace::default(),
            intake: IntakeConfig::defaults(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("dnu-vault"))),
            signin: SignInConfig::default(),
            // Tests run the pass by hand (`jobs::lifecycle`), never at a time of day.
            notices: NoticeConfig { daily: false, ..NoticeConfig::default() },
        }
    }
}

/// Exports are CPU-bound: more at once than cores only queues them in memory.
fn one_per_core() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_vault() {
        let c = Config::resolve(Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.embedded_database);
        assert!(matches!(c.object_store, ObjectStoreConfig::Local(ref p) if p.ends_with("objects")));
        assert!(matches!(c.master_key, MasterKeySource::Development(_)));
        assert_eq!(c.max_upload_bytes, 20 * 1024 * 1024);
    }

    #[test]
    fn file_fills_what_flags_and_environment_leave_unset() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("vault.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\nvault_max_upload_bytes = 1000\nobject_store = \"s3://b/p\"\n")
            .unwrap();
        let s = Settings { config: Some(f.clone()), listen: Some("127.0.0.1:1".into()), ..Settings::default() };
        let c = Config::resolve(s).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:1");
        assert_eq!(c.max_upload_bytes, 1000);
        assert!(
            matches!(c.object_store, ObjectStoreConfig::S3(ref s) if s.bucket == "b" && s.prefix == "p" && s.path_style)
        );
        std::fs::write(&f, "lisen = \"x\"\n").unwrap();
        let err = Config::resolve(Settings { config: Some(f), ..Settings::default() }).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("db-url");
        std::fs::write(&f, "postgres://vault:s3cret@db/vault\n").unwrap();
        let c = Config::resolve(Settings { database_url_file: Some(f.clone()), ..Settings::default() }).unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&c.database_url), "postgres://vault:s3cret@db/vault");
        assert!(!c.embedded_database);
        assert!(!format!("{c:?}").contains("s3cret"), "secrets never show in debug output");
        let both =
            Settings { database_url_file: Some(f), database_url: Some("sqlite://x".into()), ..Settings::default() };
        assert!(Config::resolve(both).is_err());
        let missing = Settings { database_url_file: Some(dir.path().join("nope")), ..Settings::default() };
        assert!(Config::resolve(missing).unwrap_err().to_string().contains("cannot read"));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let bad = |s: Settings| Config::resolve(s).unwrap_err().to_string();
        assert!(bad(Settings { listen: Some("nope".into()), ..Default::default() }).contains("VAULT_LISTEN"));
        assert!(
            bad(Settings { database_url: Some("mysql://x".into()), ..Default::default() })
                .contains("VAULT_DATABASE_URL")
        );
        assert!(
            bad(Settings { object_store: Some("gs://x".into()), ..Default::default() }).contains("VAULT_OBJECT_STORE")
        );
    }
}
