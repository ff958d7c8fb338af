//! Every setting as given: command-line flag, `VAULT_*` variable or TOML
//! key, all optional, before [`super::Config::resolve`] applies defaults
//! and checks.

use std::path::PathBuf;

use serde::Deserialize;

use super::heading;
use crate::error::Error;

/// Every setting, as given on the command line, in the environment or in the
/// TOML file. All optional here; [`Config::resolve`] applies defaults.
#[derive(clap::Args, Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// TOML file with the same settings (keys in lower case, e.g. `listen`).
    #[arg(help_heading = heading::GLOBAL, long, env = "VAULT_CONFIG", global = true, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_LISTEN", global = true, value_name = "ADDR")]
    #[serde(alias = "vault_listen")]
    pub listen: Option<String>,

    /// Directory of the embedded database, object directory and development key [default: ./vault-data].
    #[arg(help_heading = heading::GLOBAL, long, env = "VAULT_DATA_DIR", global = true, value_name = "DIR")]
    #[serde(alias = "vault_data_dir")]
    pub data_dir: Option<PathBuf>,

    /// Metadata database: sqlite://PATH or postgres://… [default: SQLite in the data directory].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_DATABASE_URL", global = true, hide_env_values = true, value_name = "URL")]
    #[serde(alias = "vault_database_url")]
    pub database_url: Option<String>,

    /// Seconds a request waits for a database connection before it is refused with 503 (the database is down or saturated) [default: 5].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_DATABASE_TIMEOUT_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_database_timeout_seconds")]
    pub database_timeout_seconds: Option<u64>,

    /// Most audit events one commit holds: reads arriving together share one commit of their events, each still committed before its first byte; 1 commits each alone [default: 256].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_AUDIT_BATCH", global = true, value_name = "N")]
    #[serde(alias = "vault_audit_batch")]
    pub audit_batch: Option<usize>,

    /// File holding the database URL (for URLs with a password).
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_DATABASE_URL_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_database_url_file")]
    pub database_url_file: Option<PathBuf>,

    /// Object store: a directory, or s3://bucket/prefix [default: DATA_DIR/objects].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_OBJECT_STORE", global = true, value_name = "DIR|URL")]
    #[serde(alias = "vault_object_store")]
    pub object_store: Option<String>,

    /// S3 endpoint URL, for stores other than AWS (Garage, Ceph, Scaleway, OVH…).
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_ENDPOINT", global = true, value_name = "URL")]
    #[serde(alias = "vault_s3_endpoint")]
    pub s3_endpoint: Option<String>,

    /// S3 region; must equal the server's configured region (e.g. `garage`).
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_REGION", global = true, value_name = "REGION")]
    #[serde(alias = "vault_s3_region")]
    pub s3_region: Option<String>,

    /// Path-style S3 addressing (needed for most self-hosted stores) [default: true].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_PATH_STYLE", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_s3_path_style")]
    pub s3_path_style: Option<bool>,

    /// S3 access key id; without it the standard AWS chain is used (AWS_ACCESS_KEY_ID, profile, instance role…).
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_ACCESS_KEY_ID", global = true, value_name = "ID")]
    #[serde(alias = "vault_s3_access_key_id")]
    pub s3_access_key_id: Option<String>,

    /// S3 secret access key (with VAULT_S3_ACCESS_KEY_ID).
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_SECRET_ACCESS_KEY", global = true, hide_env_values = true, value_name = "SECRET")]
    #[serde(alias = "vault_s3_secret_access_key")]
    pub s3_secret_access_key: Option<String>,

    /// File holding the S3 secret access key.
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_SECRET_ACCESS_KEY_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_s3_secret_access_key_file")]
    pub s3_secret_access_key_file: Option<PathBuf>,

    /// Seconds one request to the S3 store may take before it is abandoned and retried [default: 30].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_TIMEOUT_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_s3_timeout_seconds")]
    pub s3_timeout_seconds: Option<u64>,

    /// Tries of one S3 request (the first included) before the client is answered 503 [default: 3].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_S3_MAX_ATTEMPTS", global = true, value_name = "N")]
    #[serde(alias = "vault_s3_max_attempts")]
    pub s3_max_attempts: Option<u32>,

    /// Master key ring file [default: DATA_DIR/dev-master.key, generated: development only].
    #[arg(help_heading = heading::KEYS, long, env = "VAULT_MASTER_KEY_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_master_key_file")]
    pub master_key_file: Option<PathBuf>,

    /// Master key ring given inline (same text as the file); prefer VAULT_MASTER_KEY_FILE.
    #[arg(help_heading = heading::KEYS, long, env = "VAULT_MASTER_KEY", global = true, hide_env_values = true, value_name = "RING")]
    #[serde(alias = "vault_master_key")]
    pub master_key: Option<String>,

    /// Ed25519 key signing audit checkpoints, separate from the data keys [default: DATA_DIR/audit-signing.key, generated].
    #[arg(help_heading = heading::KEYS, long, env = "VAULT_AUDIT_KEY_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_audit_key_file")]
    pub audit_key_file: Option<PathBuf>,

    /// Key (shared with scanner-ingest) that signs separator sheets' QR codes [default: DATA_DIR/sheet-hmac.key, generated].
    #[arg(help_heading = heading::KEYS, long, env = "VAULT_SHEET_KEY_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_sheet_key_file")]
    pub sheet_key_file: Option<PathBuf>,

    /// Largest accepted upload in bytes [default: 20971520 = 20 MiB].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_UPLOAD_BYTES", global = true, value_name = "BYTES")]
    #[serde(alias = "vault_max_upload_bytes")]
    pub max_upload_bytes: Option<u64>,

    /// Seconds a request body (an upload) may go without a byte before it is cut off (408) [default: 30].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_UPLOAD_IDLE_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_upload_idle_seconds")]
    pub upload_idle_seconds: Option<u64>,

    /// Seconds a request body (an upload) may take in all, however steadily it trickles (408) [default: 900].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_UPLOAD_DEADLINE_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_upload_deadline_seconds")]
    pub upload_deadline_seconds: Option<u64>,

    /// Seconds a client has to send a request's line and headers; an idle kept-alive connection is closed after it too [default: 10].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_HEADER_TIMEOUT_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_header_timeout_seconds")]
    pub header_timeout_seconds: Option<u64>,

    /// Connections open at once, in all (more are answered 503 and closed) [default: 2048].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_CONNECTIONS", global = true, value_name = "N")]
    #[serde(alias = "vault_max_connections")]
    pub max_connections: Option<usize>,

    /// Connections open at once from one address, trusted proxies excepted (more are answered 429 and closed) [default: 128].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_CONNECTIONS_PER_CLIENT", global = true, value_name = "N")]
    #[serde(alias = "vault_max_connections_per_client")]
    pub max_connections_per_client: Option<usize>,

    /// Addresses or networks of the proxies in front (e.g. 10.0.0.5,172.30.59.0/24): only their X-Forwarded-For is believed, and the per-address connection limit spares them [default: 127.0.0.1,::1].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_TRUSTED_PROXIES", global = true, value_name = "LIST")]
    #[serde(alias = "vault_trusted_proxies")]
    pub trusted_proxies: Option<String>,

    /// Seconds over which `serve`'s scrubber reads back and verifies every stored object once [default: 2592000 = 30 days].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_SCRUB_CYCLE_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_scrub_cycle_seconds")]
    pub scrub_cycle_seconds: Option<u64>,

    /// Fastest the scrubber reads, in MiB per second, whatever its cycle [default: 16].
    #[arg(help_heading = heading::STORAGE, long, env = "VAULT_SCRUB_MAX_MIB_PER_SECOND", global = true, value_name = "MIB")]
    #[serde(alias = "vault_scrub_max_mib_per_second")]
    pub scrub_max_mib_per_second: Option<u64>,

    /// Uploads in progress at once, whoever sends them (more answer 503 `saturated` with Retry-After) [default: 64].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_UPLOADS", global = true, value_name = "N")]
    #[serde(alias = "vault_max_uploads")]
    pub max_uploads: Option<usize>,

    /// Uploads in progress at once for one agent or applicant (more answer 429) [default: 8].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_UPLOADS_PER_CALLER", global = true, value_name = "N")]
    #[serde(alias = "vault_max_uploads_per_caller")]
    pub max_uploads_per_caller: Option<usize>,

    /// Dossier PDF exports composed at once (each decodes, watermarks and re-encodes every page) [default: one per core].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_MAX_EXPORTS", global = true, value_name = "N")]
    #[serde(alias = "vault_max_exports")]
    pub max_exports: Option<usize>,

    /// Dossier PDF exports waiting for their turn; beyond, or after 30 s in line, they answer 503 with Retry-After [default: 8].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_EXPORT_QUEUE", global = true, value_name = "N")]
    #[serde(alias = "vault_export_queue")]
    pub export_queue: Option<usize>,

    /// Territory code (3 characters) that starts the numéros uniques this vault issues [default: 000].
    #[arg(help_heading = heading::POLICY, long, env = "VAULT_NU_TERRITORY", global = true, value_name = "CODE")]
    #[serde(alias = "vault_nu_territory")]
    pub nu_territory: Option<String>,

    /// Directory of the Cedar policy set to enforce (*.cedar files) [default: the built-in default set].
    #[arg(help_heading = heading::POLICY, long, env = "VAULT_POLICY_DIR", global = true, value_name = "DIR")]
    #[serde(alias = "vault_policy_dir")]
    pub policy_dir: Option<PathBuf>,

    /// Memory limit of each intake worker (the process that parses uploads), in MiB [default: 1024].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_INTAKE_MEMORY_MIB", global = true, value_name = "MIB")]
    #[serde(alias = "vault_intake_memory_mib")]
    pub intake_memory_mib: Option<u64>,

    /// CPU-time limit of each intake worker, in seconds [default: 60].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_INTAKE_CPU_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_intake_cpu_seconds")]
    pub intake_cpu_seconds: Option<u64>,

    /// Wall-clock limit of each intake worker once the upload has arrived, in seconds [default: 120].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_INTAKE_TIMEOUT_SECONDS", global = true, value_name = "SECONDS")]
    #[serde(alias = "vault_intake_timeout_seconds")]
    pub intake_timeout_seconds: Option<u64>,

    /// Intake workers parsing at once; further received uploads wait their turn [default: the number of CPUs].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_INTAKE_WORKERS", global = true, value_name = "N")]
    #[serde(alias = "vault_intake_workers")]
    pub intake_workers: Option<usize>,

    /// Most pages accepted in one uploaded document [default: 200].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_INTAKE_MAX_PAGES", global = true, value_name = "N")]
    #[serde(alias = "vault_intake_max_pages")]
    pub intake_max_pages: Option<usize>,

    /// Take the request id from the X-Request-Id header (only behind a proxy that sets it) [default: false: one is generated].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_TRUST_REQUEST_ID", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_trust_request_id")]
    pub trust_request_id: Option<bool>,

    /// Take the client's address from the last X-Forwarded-For entry, on connections from VAULT_TRUSTED_PROXIES, for per-client limits such as sign-in attempts [default: false: the connection's address].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_TRUST_FORWARDED_FOR", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_trust_forwarded_for")]
    pub trust_forwarded_for: Option<bool>,

    /// Who runs this vault, as the pages' header and footer name it (e.g. "GIP Fichier partagé du Nord") [default: "Fichier partagé de la demande de logement social"].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_OPERATOR_NAME", global = true, value_name = "NAME")]
    #[serde(alias = "vault_operator_name")]
    pub operator_name: Option<String>,

    /// The operator is a State body (a préfecture, a State service): the pages then carry the State's brand block ("République française", Marianne). Others must not [default: false].
    #[arg(help_heading = heading::SERVER, long, env = "VAULT_OPERATOR_STATE", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_operator_state")]
    pub operator_state: Option<bool>,

    /// Log format: `text` or `json` [default: text].
    #[arg(help_heading = heading::GLOBAL, long, env = "VAULT_LOG_FORMAT", global = true, value_name = "FORMAT")]
    #[serde(alias = "vault_log_format")]
    pub log_format: Option<String>,

    /// The vault's external base URL (https://…), as browsers reach it:
    /// the providers' redirect and logout URIs are built from it.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PUBLIC_URL", global = true, value_name = "URL")]
    #[serde(alias = "vault_public_url")]
    pub public_url: Option<String>,

    /// ProConnect's issuer (agents' sign-in), e.g.
    /// https://auth.agentconnect.gouv.fr/api/v2; unset: no ProConnect button.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PROCONNECT_ISSUER", global = true, value_name = "URL")]
    #[serde(alias = "vault_proconnect_issuer")]
    pub proconnect_issuer: Option<String>,

    /// The client id ProConnect gave this vault.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PROCONNECT_CLIENT_ID", global = true, value_name = "ID")]
    #[serde(alias = "vault_proconnect_client_id")]
    pub proconnect_client_id: Option<String>,

    /// The client secret ProConnect gave this vault; prefer the _FILE form.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PROCONNECT_CLIENT_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    #[serde(alias = "vault_proconnect_client_secret")]
    pub proconnect_client_secret: Option<String>,

    /// File holding the ProConnect client secret.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PROCONNECT_CLIENT_SECRET_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_proconnect_client_secret_file")]
    pub proconnect_client_secret_file: Option<PathBuf>,

    /// The acr values accepted from ProConnect, space-separated, weakest
    /// first [default: eidas1 eidas1-mfa eidas2 eidas3].
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_PROCONNECT_ACR", global = true, value_name = "VALUES")]
    #[serde(alias = "vault_proconnect_acr")]
    pub proconnect_acr: Option<String>,

    /// FranceConnect's issuer (applicants' sign-in), e.g.
    /// https://oidc.franceconnect.gouv.fr/api/v2; unset: no FranceConnect button.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_FRANCECONNECT_ISSUER", global = true, value_name = "URL")]
    #[serde(alias = "vault_franceconnect_issuer")]
    pub franceconnect_issuer: Option<String>,

    /// The client id FranceConnect gave this vault.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_FRANCECONNECT_CLIENT_ID", global = true, value_name = "ID")]
    #[serde(alias = "vault_franceconnect_client_id")]
    pub franceconnect_client_id: Option<String>,

    /// The client secret FranceConnect gave this vault; prefer the _FILE form.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_FRANCECONNECT_CLIENT_SECRET", global = true, hide_env_values = true, value_name = "SECRET")]
    #[serde(alias = "vault_franceconnect_client_secret")]
    pub franceconnect_client_secret: Option<String>,

    /// File holding the FranceConnect client secret.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_FRANCECONNECT_CLIENT_SECRET_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_franceconnect_client_secret_file")]
    pub franceconnect_client_secret_file: Option<PathBuf>,

    /// The acr values accepted from FranceConnect, space-separated
    /// [default: eidas1 eidas2 eidas3].
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_FRANCECONNECT_ACR", global = true, value_name = "VALUES")]
    #[serde(alias = "vault_franceconnect_acr")]
    pub franceconnect_acr: Option<String>,

    /// Whether agents may still sign in to the pages by pasting their access
    /// token [default: true]; the deployment examples turn it off.
    #[arg(help_heading = heading::SIGN_IN, long, env = "VAULT_AGENT_TOKEN_SIGNIN", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_agent_token_signin")]
    pub agent_token_signin: Option<bool>,

    /// Whether `serve` runs the daily pass (renewal notices, radiations, purge) [default: true].
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_LIFECYCLE_DAILY", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_lifecycle_daily")]
    pub lifecycle_daily: Option<bool>,

    /// Local time of the daily pass, HH:MM; one replica runs it [default: 03:00].
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_LIFECYCLE_AT", global = true, value_name = "HH:MM")]
    #[serde(alias = "vault_lifecycle_at")]
    pub lifecycle_at: Option<String>,

    /// Time zone of the daily pass and its dates: Europe/Paris, America/Guadeloupe, America/Martinique,
    /// America/Cayenne, Indian/Reunion, Indian/Mayotte or UTC [default: Europe/Paris].
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_LIFECYCLE_TIME_ZONE", global = true, value_name = "ZONE")]
    #[serde(alias = "vault_lifecycle_time_zone")]
    pub lifecycle_time_zone: Option<String>,

    /// Days before expiry the renewal notice goes out, 31 to 92 (CCH R.441-2-7: at least a month) [default: 31].
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_NOTICE_LEAD_DAYS", global = true, value_name = "DAYS")]
    #[serde(alias = "vault_notice_lead_days")]
    pub notice_lead_days: Option<u32>,

    /// SMTP server for e-mail notices: smtps://host[:465] (TLS) or smtp://host[:587] (STARTTLS required;
    /// in clear only to a loopback relay); unset: e-mails wait in the outbox.
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_SMTP_URL", global = true, value_name = "URL")]
    #[serde(alias = "vault_smtp_url")]
    pub smtp_url: Option<String>,

    /// SMTP user name (with VAULT_SMTP_PASSWORD_FILE).
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_SMTP_USERNAME", global = true, value_name = "NAME")]
    #[serde(alias = "vault_smtp_username")]
    pub smtp_username: Option<String>,

    /// File holding the SMTP password.
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_SMTP_PASSWORD_FILE", global = true, value_name = "FILE")]
    #[serde(alias = "vault_smtp_password_file")]
    pub smtp_password_file: Option<PathBuf>,

    /// Sender of the notices, e.g. "DNU Vault <ne-pas-repondre@exemple.fr>" (required with VAULT_SMTP_URL).
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_MAIL_FROM", global = true, value_name = "ADDRESS")]
    #[serde(alias = "vault_mail_from")]
    pub mail_from: Option<String>,

    /// Whether each registering organisation gets a daily e-mail when its relance list is not empty [default: true].
    #[arg(help_heading = heading::NOTICES, long, env = "VAULT_NOTICE_DIGEST", global = true, value_name = "BOOL")]
    #[serde(alias = "vault_notice_digest")]
    pub notice_digest: Option<bool>,
}

impl Settings {
    /// Fills what is unset here from the TOML file named by `--config`.
    pub(super) fn merged(self) -> Result<Self, Error> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("cannot read configuration file {}: {e}", path.display())))?;
        let file: Settings =
            toml::from_str(&text).map_err(|e| Error::Config(format!("configuration file {}: {e}", path.display())))?;
        macro_rules! pick {
            ($($f:ident),*) => { Settings { config: self.config, $($f: self.$f.or(file.$f)),* } };
        }
        Ok(pick!(
            listen,
            data_dir,
            database_url,
            database_url_file,
            database_timeout_seconds,
            audit_batch,
            object_store,
            s3_endpoint,
            s3_region,
            s3_path_style,
            s3_access_key_id,
            s3_secret_access_key,
            s3_secret_access_key_file,
            s3_timeout_seconds,
            s3_max_attempts,
            master_key_file,
            master_key,
            audit_key_file,
            sheet_key_file,
            max_upload_bytes,
            upload_idle_seconds,
            upload_deadline_seconds,
            header_timeout_seconds,
            max_connections,
            max_connections_per_client,
            trusted_proxies,
            scrub_cycle_seconds,
            scrub_max_mib_per_second,
            max_uploads,
            max_uploads_per_caller,
            max_exports,
            export_queue,
            nu_territory,
            policy_dir,
            intake_memory_mib,
            intake_cpu_seconds,
            intake_timeout_seconds,
            intake_workers,
            intake_max_pages,
            trust_request_id,
            trust_forwarded_for,
            operator_name,
            operator_state,
            log_format,
            public_url,
            proconnect_issuer,
            proconnect_client_id,
            proconnect_client_secret,
            proconnect_client_secret_file,
            proconnect_acr,
            franceconnect_issuer,
            franceconnect_client_id,
            franceconnect_client_secret,
            franceconnect_client_secret_file,
            franceconnect_acr,
            agent_token_signin,
            lifecycle_daily,
            lifecycle_at,
            lifecycle_time_zone,
            notice_lead_days,
            smtp_url,
            smtp_username,
            smtp_password_file,
            mail_from,
            notice_digest
        ))
    }
}
