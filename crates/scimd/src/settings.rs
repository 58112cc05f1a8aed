//! Where configuration enters the process, once: command-line flags, `SCIM_*` environment
//! variables (clap reads both; a flag wins), a TOML file, and defaults — in that order of
//! precedence. The libraries get plain structs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use scim_server::{BulkLimits, DeleteMode, IpCidr, Limits, ServerConfig, WebhookConfig};
use scim_store::orgs::RateLimit;
use scim_store::PoolConfig;
use serde::{Deserialize, Serialize};

/// Where the SCIM service is mounted.
pub const SCIM_PATH: &str = "/scim/v2";

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./data";
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_POOL_SIZE: u32 = 10;

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per event.
    Json,
}

/// What DELETE does to a user row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteModeSetting {
    /// Remove the row.
    Purge,
    /// Keep an invisible tombstone.
    Tombstone,
}

impl From<DeleteModeSetting> for DeleteMode {
    fn from(mode: DeleteModeSetting) -> Self {
        match mode {
            DeleteModeSetting::Purge => DeleteMode::Purge,
            DeleteModeSetting::Tombstone => DeleteMode::Tombstone,
        }
    }
}

impl From<DeleteMode> for DeleteModeSetting {
    fn from(mode: DeleteMode) -> Self {
        match mode {
            DeleteMode::Purge => DeleteModeSetting::Purge,
            DeleteMode::Tombstone => DeleteModeSetting::Tombstone,
        }
    }
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (keys as in `scimd config` output)
    #[arg(long, env = "SCIM_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB or sqlite://PATH
    /// [default: sqlite://<data-dir>/scim.db]
    #[arg(
        long,
        env = "SCIM_DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A file holding the database URL (one line), for a URL with a password that should not
    /// sit in the environment or the configuration file; instead of --database-url
    #[arg(
        long,
        env = "SCIM_DATABASE_URL_FILE",
        global = true,
        value_name = "FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,
    /// Directory of the default SQLite database, created if missing [default: ./data]
    #[arg(long, env = "SCIM_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format [default: human]
    #[arg(long, env = "SCIM_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter: a level (`info`, `debug`, …) or `target=level` pairs, comma-separated
    /// [default: info for serve, warn otherwise]
    #[arg(long, env = "SCIM_LOG", global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// Options of `serve` (and `config`, which prints what `serve` would use).
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SCIM_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Address of the Prometheus /metrics endpoint, apart from the SCIM listener; `off` for
    /// none [default: 127.0.0.1:9464]
    #[arg(long, env = "SCIM_METRICS_LISTEN", value_name = "ADDR|off")]
    pub metrics_listen: Option<String>,
    /// Public URL of the SCIM service, for meta.location (e.g. https://scim.example.com/scim/v2)
    /// [default: derived from each request's Host]
    #[arg(long, env = "SCIM_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Run migrations at start [default: true]
    #[arg(
        long,
        env = "SCIM_MIGRATE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub migrate: Option<bool>,
    /// Do not run migrations at start (same as --migrate=false)
    #[arg(long)]
    pub no_migrate: bool,
    /// On a database with no organisation, create the organisation "default" and its first
    /// token [default: true]
    #[arg(
        long,
        env = "SCIM_BOOTSTRAP",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub bootstrap: Option<bool>,
    /// Never create the first organisation and token (same as --bootstrap=false); make them
    /// with `scimd org create` and `scimd token create`
    #[arg(long, conflicts_with = "bootstrap_token_file")]
    pub no_bootstrap: bool,
    /// Write the first token to this new file (mode 0600; an existing file is never
    /// overwritten) instead of printing it on stdout, which a service manager or container
    /// runtime keeps as the log [default: stdout]
    #[arg(long, env = "SCIM_BOOTSTRAP_TOKEN_FILE", value_name = "FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
    /// Worker threads [default: one per physical core]
    #[arg(long, env = "SCIM_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// How long a shutdown waits for requests in flight [default: 30s]
    #[arg(long, env = "SCIM_SHUTDOWN_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_timeout: Option<Duration>,
    /// Largest request body, in bytes [default: 1048576]
    #[arg(long, env = "SCIM_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Results per page when a query names no count [default: 100]
    #[arg(long, env = "SCIM_DEFAULT_PAGE_SIZE", value_name = "N")]
    pub default_page_size: Option<u32>,
    /// Most results per page [default: 1000]
    #[arg(long, env = "SCIM_MAX_PAGE_SIZE", value_name = "N")]
    pub max_page_size: Option<u32>,
    /// Most group member values one request may carry [default: 10000]
    #[arg(long, env = "SCIM_MAX_MEMBER_VALUES", value_name = "N")]
    pub max_member_values: Option<usize>,
    /// Most bytes of resources in one list or search response [default: 16777216]
    #[arg(long, env = "SCIM_MAX_LIST_BYTES", value_name = "BYTES")]
    pub max_list_bytes: Option<usize>,
    /// Largest stored resource, serialised, in bytes [default: 262144]
    #[arg(long, env = "SCIM_MAX_DOCUMENT_BYTES", value_name = "BYTES")]
    pub max_document_bytes: Option<usize>,
    /// Longest string value, in bytes [default: 16384]
    #[arg(long, env = "SCIM_MAX_STRING_BYTES", value_name = "BYTES")]
    pub max_string_bytes: Option<usize>,
    /// Most values of one multi-valued attribute such as emails [default: 1000]
    #[arg(long, env = "SCIM_MAX_ATTRIBUTE_VALUES", value_name = "N")]
    pub max_attribute_values: Option<usize>,
    /// What DELETE does to a user [default: tombstone]
    #[arg(long, env = "SCIM_DELETE_MODE", value_enum)]
    pub delete_mode: Option<DeleteModeSetting>,
    /// How long a tombstone keeps the deleted user's or group's data; then it is scrubbed (id,
    /// dates and events stay). `off` keeps it for ever [default: 30d]
    #[arg(long, env = "SCIM_TOMBSTONE_RETENTION", value_name = "DURATION|off", value_parser = parse_retention)]
    pub tombstone_retention: Option<Retention>,
    /// A reverse proxy (address or CIDR network) whose Forwarded / X-Forwarded-For /
    /// X-Forwarded-Host / X-Forwarded-Proto headers are believed; repeat the flag or separate
    /// with commas (an empty value lists none). From other peers those headers are ignored
    /// [default: none]
    #[arg(
        long = "trusted-proxy",
        env = "SCIM_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = check_cidr
    )]
    pub trusted_proxies: Vec<String>,
    /// Replaced by --trusted-proxy: believing forwarded addresses from any peer let clients
    /// choose their own. Still read, so that `true` stops the server instead of being ignored.
    #[arg(
        long,
        env = "SCIM_TRUST_FORWARDED_FOR",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        hide = true
    )]
    pub trust_forwarded_for: Option<bool>,
    /// How long a verified token is trusted without asking the database: the bound on how
    /// late a revocation takes effect [default: 60s]
    #[arg(long, env = "SCIM_TOKEN_CACHE_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub token_cache_ttl: Option<Duration>,
    /// Database connections per process [default: 10]
    #[arg(long, env = "SCIM_POOL_SIZE", value_name = "N")]
    pub pool_size: Option<u32>,
    /// Most database jobs one organisation runs at once; more wait, then get 429 [default:
    /// half of pool_size, at least 1]
    #[arg(long, env = "SCIM_MAX_ORG_DB_JOBS", value_name = "N")]
    pub max_org_db_jobs: Option<usize>,
    /// PostgreSQL: the longest one SQL statement may run before the database cancels it and
    /// the request gets 503; 0s for no limit [default: 10s]
    #[arg(long, env = "SCIM_STATEMENT_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub statement_timeout: Option<Duration>,
    /// PostgreSQL: the longest a statement waits for a lock held by another transaction
    /// before the request gets 503; 0s for no limit [default: 5s]
    #[arg(long, env = "SCIM_LOCK_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Link advertised as documentationUri in /ServiceProviderConfig
    #[arg(long, env = "SCIM_DOCUMENTATION_URI", value_name = "URL")]
    pub documentation_uri: Option<String>,
    /// Most operations of one /Bulk request (advertised as bulk.maxOperations) [default: 1000]
    #[arg(long, env = "SCIM_BULK_MAX_OPERATIONS", value_name = "N")]
    pub bulk_max_operations: Option<usize>,
    /// Largest /Bulk request body, in bytes (advertised as bulk.maxPayloadSize)
    /// [default: 1048576]
    #[arg(long, env = "SCIM_BULK_MAX_PAYLOAD_BYTES", value_name = "BYTES")]
    pub bulk_max_payload_bytes: Option<usize>,
    /// How long an RFC 9865 paging cursor stays valid after its page; advertised as
    /// pagination.cursorTimeout [default: 1h]
    #[arg(long, env = "SCIM_CURSOR_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub cursor_timeout: Option<Duration>,
    /// How long events stay in the change feed and audit trail; older ones are deleted and a
    /// feed consumer behind them gets 410. `off` keeps them for ever [default: 90d]
    #[arg(long, env = "SCIM_EVENT_RETENTION", value_name = "DURATION|off", value_parser = parse_retention)]
    pub event_retention: Option<Retention>,
    /// Whether this process delivers webhooks (replicas on one PostgreSQL share the work; on
    /// SQLite keep it on in one process only) [default: true]
    #[arg(long, env = "SCIM_WEBHOOKS", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub webhooks: Option<bool>,
    /// Failed deliveries in a row after which a webhook is paused until resumed [default: 15]
    #[arg(long, env = "SCIM_WEBHOOK_MAX_FAILURES", value_name = "N")]
    pub webhook_max_failures: Option<u32>,
    /// How long a delivery worker's claim on a webhook lasts: after a crash, another worker
    /// (or this one restarted) resumes that webhook's deliveries after this [default: 60s]
    #[arg(long, env = "SCIM_WEBHOOK_LEASE", value_name = "DURATION", value_parser = parse_duration)]
    pub webhook_lease: Option<Duration>,
    /// Requests per second an organisation may make unless `scimd org set --rate-limit` gave
    /// it its own limit; over it, 429 with Retry-After. `off` for no limit [default: 1000/s]
    #[arg(long, env = "SCIM_RATE_LIMIT", value_name = "N[/s]|off", value_parser = parse_rate)]
    pub rate_limit: Option<Rate>,
    /// Requests an organisation may make at once after a quiet period, with the default rate
    /// limit [default: 2000]
    #[arg(long, env = "SCIM_RATE_BURST", value_name = "N")]
    pub rate_burst: Option<u32>,
    /// How long an access token from /oauth/token lives, 5m to 24h [default: 1h]
    #[arg(long, env = "SCIM_ACCESS_TOKEN_LIFETIME", value_name = "DURATION", value_parser = parse_duration)]
    pub access_token_lifetime: Option<Duration>,
}

/// `--token-cache-ttl` of the revoking commands: they run in a process of their own, so they
/// can only report the servers' revocation bound if told it, the way `serve` is.
#[derive(Debug, Clone, Default, Args)]
pub struct CacheTtlArg {
    /// The running servers' token cache TTL, to report when they refuse the revoked
    /// credential [default: token_cache_ttl of the --config file, else 60s]
    #[arg(long, env = "SCIM_TOKEN_CACHE_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub token_cache_ttl: Option<Duration>,
}

/// A rate: requests per second, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub Option<u32>);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}/s"),
            None => f.write_str("off"),
        }
    }
}

/// Parses `100`, `100/s` or `off`.
///
/// # Errors
/// When it is none of those, or the rate is 0 or above `scim_server::MAX_RATE_LIMIT`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(Rate(None));
    }
    let number = text.strip_suffix("/s").unwrap_or(text).trim();
    let rate: u32 = number
        .parse()
        .map_err(|_| format!("expected requests per second such as 100/s, or off: {text:?}"))?;
    if rate == 0 || rate > scim_server::MAX_RATE_LIMIT {
        return Err(format!(
            "a rate limit is between 1/s and {}/s",
            scim_server::MAX_RATE_LIMIT
        ));
    }
    Ok(Rate(Some(rate)))
}

/// `scimd`'s default rate limit per organisation: far above what any identity provider sends
/// (Microsoft's gallery asks an application to sustain 25 requests/s per tenant) and above what
/// the public conformance tools send without honouring `Retry-After`, so only a runaway client
/// meets it. An operator who wants tenants held to less sets it lower.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    per_second: 1_000,
    burst: 2_000,
};

/// The configuration file: every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    migrate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bootstrap: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bootstrap_token_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_member_values: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_list_bytes: Option<usize>,
    max_document_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_string_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_attribute_values: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete_mode: Option<DeleteModeSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tombstone_retention: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_proxies: Option<Vec<String>>,
    /// Replaced by `trusted_proxies`; only `false` is accepted, and it is never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_forwarded_for: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_cache_ttl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_org_db_jobs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    documentation_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bulk_max_operations: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bulk_max_payload_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_retention: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_max_failures: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_lease: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_burst: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_lifetime: Option<String>,
}

impl FileConfig {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// When the file cannot be read, is not TOML, or has an unknown key or a wrong type.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Human or JSON lines.
    pub format: LogFormat,
    /// A `tracing_subscriber::filter::Targets` directive string; `None` for the command's default.
    pub filter: Option<String>,
}

/// What `serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The address to bind.
    pub listen: String,
    /// The address of the metrics endpoint; `None` for none.
    pub metrics_listen: Option<String>,
    /// Whether the operator chose it (else it is the default, and a port already taken only
    /// disables metrics, with a warning).
    pub metrics_listen_chosen: bool,
    /// Whether to migrate at start.
    pub migrate: bool,
    /// Worker threads; `None` for actix's default.
    pub workers: Option<usize>,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// The service's settings.
    pub server: ServerConfig,
    /// The verifier's cache TTL.
    pub token_cache_ttl: Duration,
    /// Connections in the pool.
    pub pool_size: u32,
    /// PostgreSQL's `statement_timeout` on every connection; zero for none.
    pub statement_timeout: Duration,
    /// PostgreSQL's `lock_timeout` on every connection; zero for none.
    pub lock_timeout: Duration,
    /// Where `token_cache_ttl` came from, for commands that can only assume the servers' value.
    pub token_cache_ttl_origin: Origin,
    /// What a first start on an empty database does.
    pub bootstrap: Bootstrap,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A flag or a `SCIM_*` variable.
    Given,
    /// The configuration file.
    File,
    /// Nobody set it.
    Default,
}

/// What `serve` does on a database with no organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Nothing: the operator creates the organisation and tokens with the CLI.
    Off,
    /// Creates `default` and its first token, and prints the token on stdout.
    Stdout,
    /// Creates them and writes the token to this new file, mode 0600.
    File(PathBuf),
}

impl ServeSettings {
    /// The pool settings of a store of `max_size` connections.
    pub fn pool_config(&self, max_size: u32) -> PoolConfig {
        PoolConfig {
            max_size,
            min_idle: Some(1.min(max_size)),
            statement_timeout: Some(self.statement_timeout),
            lock_timeout: Some(self.lock_timeout),
            ..PoolConfig::default()
        }
    }
}

/// Everything, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database URL.
    pub database_url: String,
    /// The file the database URL was read from, absolute; `None` when it was given inline or
    /// is the default.
    pub database_url_file: Option<PathBuf>,
    /// Logging.
    pub log: LogSettings,
    /// `serve`'s settings.
    pub serve: ServeSettings,
}

impl Settings {
    /// Merges flags and environment (already combined by clap) over `file` over the defaults.
    ///
    /// # Errors
    /// When a value is invalid (a duration that does not parse, page sizes out of order, …).
    pub fn resolve(
        global: &GlobalArgs,
        serve: &ServeArgs,
        file: &FileConfig,
    ) -> anyhow::Result<Self> {
        let data_dir = global
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        if file.database_url.is_some() && file.database_url_file.is_some() {
            bail!("database_url and database_url_file are both set in the configuration file; keep one");
        }
        // The file named, made absolute so that `config` prints a path any directory reads.
        let url_file = global
            .database_url_file
            .as_deref()
            .filter(|_| global.database_url.is_none())
            .or(file
                .database_url_file
                .as_deref()
                .filter(|_| global.database_url.is_none()))
            .map(|path| {
                std::path::absolute(path)
                    .with_context(|| format!("database_url_file {}", path.display()))
            })
            .transpose()?;
        let database_url = match (&global.database_url, &url_file) {
            (Some(url), _) => url.clone(),
            (None, Some(path)) => read_database_url_file(path)?,
            (None, None) => file
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("scim.db").display())),
        };
        let log = LogSettings {
            format: global.log_format.or(file.log_format).unwrap_or_default(),
            filter: global.log_level.clone().or_else(|| file.log_level.clone()),
        };
        let file_duration =
            |value: &Option<String>, key: &str| -> anyhow::Result<Option<Duration>> {
                value
                    .as_deref()
                    .map(|text| parse_duration(text).map_err(|e| anyhow::anyhow!("{key}: {e}")))
                    .transpose()
            };
        if serve.trust_forwarded_for.or(file.trust_forwarded_for) == Some(true) {
            bail!(
                "trust_forwarded_for is no longer supported: it believed forwarded addresses \
                 from any peer, so clients could choose their own; list your reverse proxies in \
                 trusted_proxies (--trusted-proxy, SCIM_TRUSTED_PROXIES) instead"
            );
        }
        // A flag or variable given at all, even empty, wins over the file.
        let listed = if serve.trusted_proxies.is_empty() {
            file.trusted_proxies.as_deref().unwrap_or_default()
        } else {
            &serve.trusted_proxies
        };
        let trusted_proxies = listed
            .iter()
            .filter(|text| !text.trim().is_empty())
            .map(|text| {
                text.parse::<IpCidr>()
                    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let defaults = ServerConfig::default();
        let migrate = if serve.no_migrate {
            false
        } else {
            serve.migrate.or(file.migrate).unwrap_or(true)
        };
        let bootstrap = resolve_bootstrap(serve, file)?;
        let server = ServerConfig {
            base_url: serve.base_url.clone().or_else(|| file.base_url.clone()),
            max_body_bytes: serve
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(defaults.max_body_bytes),
            default_page_size: serve
                .default_page_size
                .or(file.default_page_size)
                .unwrap_or(defaults.default_page_size),
            max_page_size: serve
                .max_page_size
                .or(file.max_page_size)
                .unwrap_or(defaults.max_page_size),
            max_member_values: serve
                .max_member_values
                .or(file.max_member_values)
                .unwrap_or(defaults.max_member_values),
            max_list_bytes: serve
                .max_list_bytes
                .or(file.max_list_bytes)
                .unwrap_or(defaults.max_list_bytes),
            limits: Limits {
                max_document_bytes: serve
                    .max_document_bytes
                    .or(file.max_document_bytes)
                    .unwrap_or(defaults.limits.max_document_bytes),
                max_string_bytes: serve
                    .max_string_bytes
                    .or(file.max_string_bytes)
                    .unwrap_or(defaults.limits.max_string_bytes),
                max_values: serve
                    .max_attribute_values
                    .or(file.max_attribute_values)
                    .unwrap_or(defaults.limits.max_values),
                ..defaults.limits
            },
            delete_mode: serve
                .delete_mode
                .or(file.delete_mode)
                .map_or(defaults.delete_mode, DeleteMode::from),
            tombstone_retention: match serve.tombstone_retention {
                Some(Retention(retention)) => retention,
                None => match file.tombstone_retention.as_deref() {
                    Some(text) => {
                        parse_retention(text)
                            .map_err(|e| anyhow::anyhow!("tombstone_retention: {e}"))?
                            .0
                    }
                    None => defaults.tombstone_retention,
                },
            },
            max_org_db_jobs: serve.max_org_db_jobs.or(file.max_org_db_jobs),
            trusted_proxies,
            documentation_uri: serve
                .documentation_uri
                .clone()
                .or_else(|| file.documentation_uri.clone()),
            bulk: BulkLimits {
                max_operations: serve
                    .bulk_max_operations
                    .or(file.bulk_max_operations)
                    .unwrap_or(defaults.bulk.max_operations),
                max_payload_bytes: serve
                    .bulk_max_payload_bytes
                    .or(file.bulk_max_payload_bytes)
                    .unwrap_or(defaults.bulk.max_payload_bytes),
                ..defaults.bulk
            },
            cursor_timeout: match serve.cursor_timeout {
                Some(timeout) => timeout,
                None => file_duration(&file.cursor_timeout, "cursor_timeout")?
                    .unwrap_or(defaults.cursor_timeout),
            },
            event_retention: match serve.event_retention {
                Some(Retention(retention)) => retention,
                None => match file.event_retention.as_deref() {
                    Some(text) => {
                        parse_retention(text)
                            .map_err(|e| anyhow::anyhow!("event_retention: {e}"))?
                            .0
                    }
                    None => defaults.event_retention,
                },
            },
            webhooks: WebhookConfig {
                enabled: serve
                    .webhooks
                    .or(file.webhooks)
                    .unwrap_or(defaults.webhooks.enabled),
                max_failures: serve
                    .webhook_max_failures
                    .or(file.webhook_max_failures)
                    .unwrap_or(defaults.webhooks.max_failures),
                lease: match serve.webhook_lease {
                    Some(lease) => lease,
                    None => file_duration(&file.webhook_lease, "webhook_lease")?
                        .unwrap_or(defaults.webhooks.lease),
                },
                ..defaults.webhooks
            },
            rate_limit: {
                let rate = match serve.rate_limit {
                    Some(rate) => rate,
                    None => match file.rate_limit.as_deref() {
                        Some(text) => {
                            parse_rate(text).map_err(|e| anyhow::anyhow!("rate_limit: {e}"))?
                        }
                        None => Rate(Some(DEFAULT_RATE_LIMIT.per_second)),
                    },
                };
                let burst = serve
                    .rate_burst
                    .or(file.rate_burst)
                    .unwrap_or(DEFAULT_RATE_LIMIT.burst);
                if burst == 0 {
                    bail!("rate_burst must be at least 1");
                }
                rate.0.map(|per_second| RateLimit { per_second, burst })
            },
            oauth: scim_server::OAuthConfig {
                access_token_lifetime: match serve.access_token_lifetime {
                    Some(lifetime) => lifetime,
                    None => file_duration(&file.access_token_lifetime, "access_token_lifetime")?
                        .unwrap_or(defaults.oauth.access_token_lifetime),
                },
                ..defaults.oauth
            },
            ..defaults
        };
        let lifetime = server.oauth.access_token_lifetime;
        if lifetime < Duration::from_secs(5 * 60) || lifetime > Duration::from_secs(24 * 60 * 60) {
            bail!("access_token_lifetime must be between 5m and 24h");
        }
        if server.webhooks.max_failures == 0 {
            bail!("webhook_max_failures must be at least 1");
        }
        // A worker stops sending with a quarter of its lease left; one attempt must fit.
        if server.webhooks.lease < Duration::from_secs(1) {
            bail!("webhook_lease must be at least 1s");
        }
        server.validate().context("invalid configuration")?;
        if let Some(base) = &server.base_url {
            if base_url_path(base).is_empty() {
                bail!(
                    "base_url `{base}` has no path: it is the public URL of the SCIM service, \
                     which scimd serves at {SCIM_PATH} (e.g. https://scim.example.com{SCIM_PATH})"
                );
            }
        }
        let workers = serve.workers.or(file.workers);
        if workers == Some(0) {
            bail!("workers must be at least 1");
        }
        let pool_size = serve
            .pool_size
            .or(file.pool_size)
            .unwrap_or(DEFAULT_POOL_SIZE);
        if pool_size == 0 {
            bail!("pool_size must be at least 1");
        }
        let pool_defaults = PoolConfig::default();
        Ok(Settings {
            database_url,
            database_url_file: url_file,
            log,
            serve: ServeSettings {
                listen: serve
                    .listen
                    .clone()
                    .or_else(|| file.listen.clone())
                    .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
                metrics_listen: Some(
                    serve
                        .metrics_listen
                        .clone()
                        .or_else(|| file.metrics_listen.clone())
                        .unwrap_or_else(|| DEFAULT_METRICS_LISTEN.to_owned()),
                )
                .filter(|addr| !addr.trim().eq_ignore_ascii_case("off")),
                metrics_listen_chosen: serve.metrics_listen.is_some()
                    || file.metrics_listen.is_some(),
                migrate,
                workers,
                shutdown_timeout: match serve.shutdown_timeout {
                    Some(timeout) => timeout,
                    None => file_duration(&file.shutdown_timeout, "shutdown_timeout")?
                        .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
                },
                server,
                token_cache_ttl: match serve.token_cache_ttl {
                    Some(ttl) => ttl,
                    None => file_duration(&file.token_cache_ttl, "token_cache_ttl")?
                        .unwrap_or_else(|| scim_auth::VerifierConfig::default().cache_ttl),
                },
                token_cache_ttl_origin: if serve.token_cache_ttl.is_some() {
                    Origin::Given
                } else if file.token_cache_ttl.is_some() {
                    Origin::File
                } else {
                    Origin::Default
                },
                bootstrap,
                pool_size,
                statement_timeout: match serve.statement_timeout {
                    Some(timeout) => timeout,
                    None => file_duration(&file.statement_timeout, "statement_timeout")?
                        .or(pool_defaults.statement_timeout)
                        .unwrap_or_default(),
                },
                lock_timeout: match serve.lock_timeout {
                    Some(timeout) => timeout,
                    None => file_duration(&file.lock_timeout, "lock_timeout")?
                        .or(pool_defaults.lock_timeout)
                        .unwrap_or_default(),
                },
            },
        })
    }

    /// Whether the database URL carries a password.
    pub fn database_url_has_password(&self) -> bool {
        redact_database_url(&self.database_url) != self.database_url
    }

    /// Why `base_url` may be wrong, for a warning: its path is not where scimd serves SCIM,
    /// which is right only behind a proxy that rewrites the path.
    pub fn base_url_warning(&self) -> Option<String> {
        let base = self.serve.server.base_url.as_deref()?;
        (!base_url_path(base).ends_with(SCIM_PATH)).then(|| {
            format!(
                "base_url `{base}` does not end in {SCIM_PATH}, where scimd serves SCIM: \
                 meta.location and Location headers will point there, which is right only if a \
                 proxy maps that path to {SCIM_PATH}"
            )
        })
    }

    /// The effective configuration as a TOML file `serve` would accept and that reproduces
    /// these settings from any directory: relative paths made absolute, and no secret in it.
    /// A database URL read from a file is named by `database_url_file`; one given inline is
    /// written without its password, under a comment saying where `serve` can find it.
    pub fn to_toml(&self) -> String {
        let serve = &self.serve;
        let server = &serve.server;
        let (database_url, database_url_file) = match &self.database_url_file {
            Some(path) => (None, Some(path.clone())),
            None => (
                Some(absolute_database_url(&strip_database_password(
                    &self.database_url,
                ))),
                None,
            ),
        };
        let header = if self.database_url_file.is_none() && self.database_url_has_password() {
            "# database_url had a password, which is not written here: give the whole URL in\n\
             # SCIM_DATABASE_URL (it wins over this file), or put it in a file only scimd can\n\
             # read and replace database_url with database_url_file = \"/path/to/that/file\",\n\
             # or leave database_url as it is and let PostgreSQL's client library find the\n\
             # password in PGPASSWORD or ~/.pgpass.\n"
                .to_owned()
        } else {
            String::new()
        };
        let file = FileConfig {
            listen: Some(serve.listen.clone()),
            metrics_listen: Some(
                serve
                    .metrics_listen
                    .clone()
                    .unwrap_or_else(|| "off".to_owned()),
            ),
            database_url,
            database_url_file,
            data_dir: None,
            base_url: server.base_url.clone(),
            migrate: Some(serve.migrate),
            bootstrap: Some(serve.bootstrap != Bootstrap::Off),
            bootstrap_token_file: match &serve.bootstrap {
                Bootstrap::File(path) => Some(path.clone()),
                Bootstrap::Off | Bootstrap::Stdout => None,
            },
            log_format: Some(self.log.format),
            log_level: self.log.filter.clone(),
            workers: serve.workers,
            shutdown_timeout: Some(format_duration(serve.shutdown_timeout)),
            max_body_bytes: Some(server.max_body_bytes),
            default_page_size: Some(server.default_page_size),
            max_page_size: Some(server.max_page_size),
            max_member_values: Some(server.max_member_values),
            max_list_bytes: Some(server.max_list_bytes),
            max_document_bytes: Some(server.limits.max_document_bytes),
            max_string_bytes: Some(server.limits.max_string_bytes),
            max_attribute_values: Some(server.limits.max_values),
            delete_mode: Some(server.delete_mode.into()),
            tombstone_retention: Some(Retention(server.tombstone_retention).to_string()),
            trusted_proxies: Some(
                server
                    .trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ),
            trust_forwarded_for: None,
            token_cache_ttl: Some(format_duration(serve.token_cache_ttl)),
            pool_size: Some(serve.pool_size),
            max_org_db_jobs: server.max_org_db_jobs,
            statement_timeout: Some(format_duration(serve.statement_timeout)),
            lock_timeout: Some(format_duration(serve.lock_timeout)),
            documentation_uri: server.documentation_uri.clone(),
            bulk_max_operations: Some(server.bulk.max_operations),
            bulk_max_payload_bytes: Some(server.bulk.max_payload_bytes),
            cursor_timeout: Some(format_duration(server.cursor_timeout)),
            event_retention: Some(Retention(server.event_retention).to_string()),
            webhooks: Some(server.webhooks.enabled),
            webhook_max_failures: Some(server.webhooks.max_failures),
            webhook_lease: Some(format_duration(server.webhooks.lease)),
            rate_limit: Some(Rate(server.rate_limit.map(|limit| limit.per_second)).to_string()),
            rate_burst: server.rate_limit.map(|limit| limit.burst),
            access_token_lifetime: Some(format_duration(server.oauth.access_token_lifetime)),
        };
        match toml::to_string(&file) {
            Ok(text) => header + &text,
            Err(e) => format!("# cannot print the configuration: {e}\n"),
        }
    }
}

/// `bootstrap`, `--no-bootstrap` and `bootstrap_token_file`, flag or variable over file.
fn resolve_bootstrap(serve: &ServeArgs, file: &FileConfig) -> anyhow::Result<Bootstrap> {
    let absolute = |path: &Path| -> anyhow::Result<Bootstrap> {
        std::path::absolute(path)
            .map(Bootstrap::File)
            .with_context(|| format!("bootstrap_token_file {}", path.display()))
    };
    if serve.no_bootstrap || serve.bootstrap == Some(false) {
        if serve.bootstrap_token_file.is_some() {
            bail!("bootstrap is off, yet a bootstrap token file is named; keep one of the two");
        }
        return Ok(Bootstrap::Off);
    }
    if let Some(path) = &serve.bootstrap_token_file {
        return absolute(path);
    }
    match (
        serve.bootstrap.or(file.bootstrap),
        &file.bootstrap_token_file,
    ) {
        (Some(false), Some(_)) => bail!(
            "bootstrap = false and bootstrap_token_file contradict each other in the \
             configuration file; keep one"
        ),
        (Some(false), None) => Ok(Bootstrap::Off),
        (_, Some(path)) => absolute(path),
        (_, None) => Ok(Bootstrap::Stdout),
    }
}

/// The URL in the first line of `path`; surrounding whitespace (a final newline) is no part
/// of it.
fn read_database_url_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the database URL file {}", path.display()))?;
    let url = text.trim();
    if url.is_empty() || url.contains(['\n', '\r']) {
        bail!(
            "the database URL file {} must hold one URL on one line",
            path.display()
        );
    }
    Ok(url.to_owned())
}

/// The path of `base_url` without its final slash: empty for `https://host` or `https://host/`.
fn base_url_path(base_url: &str) -> String {
    base_url
        .parse::<actix_web::http::Uri>()
        .map(|uri| uri.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// `url` with a relative SQLite path made absolute, so that a file printed by `scimd config`
/// opens the same database from any directory.
fn absolute_database_url(url: &str) -> String {
    match scim_store::DatabaseUrl::parse(url) {
        Ok(scim_store::DatabaseUrl::SqliteFile(path)) if Path::new(&path).is_relative() => {
            match std::path::absolute(&path) {
                Ok(absolute) => format!("sqlite://{}", absolute.display()),
                Err(_) => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Where `/metrics` is served unless configured: loopback only, the port OpenTelemetry's
/// Prometheus exporter uses.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// `duration` in the largest unit that holds it whole — `90d`, `36h`, `90m`, `45s` — as
/// [`parse_duration`] reads it back; never in months or years, whose length humantime fixes at
/// 30.44 and 365.25 days, which no operator writes.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        return humantime::format_duration(duration).to_string();
    }
    match seconds {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Parses a duration such as `90d`, `2w` (14 days), `12h`, `30m`, `45s` or `1h 30m`.
///
/// # Errors
/// A message saying what is wrong, for clap or a configuration error.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}` ({e}); write e.g. 90d, 2w, 12h, 30m or 45s (units s, m, h, d, w)"))
}

/// How long tombstones keep their data: a duration, or `off` (`None`) for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<Duration>);

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(duration) => f.write_str(&format_duration(duration)),
            None => f.write_str("off"),
        }
    }
}

/// Parses a retention: `off`, or a duration as [`parse_duration`] takes it.
///
/// # Errors
/// A message saying what is wrong, for clap or a configuration error.
pub fn parse_retention(text: &str) -> Result<Retention, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(Retention(None));
    }
    parse_duration(text)
        .map(|duration| Retention(Some(duration)))
        .map_err(|e| format!("{e}, or off"))
}

/// Checks one trusted proxy as given on the command line or in `SCIM_TRUSTED_PROXIES`: an
/// address (`192.0.2.10`, `::1`), a network (`10.0.0.0/8`), or nothing (an empty variable).
///
/// # Errors
/// A message saying what is wrong, for clap.
pub fn check_cidr(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !text.is_empty() {
        text.parse::<IpCidr>().map_err(|e| e.to_string())?;
    }
    Ok(text.to_owned())
}

/// `url` with any PostgreSQL password replaced, for printing.
pub fn redact_database_url(url: &str) -> String {
    replace_database_password(url, Some("REDACTED"))
}

/// `url` without its PostgreSQL password, for a configuration file that must hold no secret.
pub fn strip_database_password(url: &str) -> String {
    replace_database_password(url, None)
}

/// `url` with the password of its user information and of its `password` query parameter
/// replaced by `replacement`, or removed when it is `None`.
fn replace_database_password(url: &str, replacement: Option<&str>) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if !scheme.starts_with("postgres") {
        return url.to_owned();
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => match replacement {
                Some(replacement) => format!("{user}:{replacement}@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query = query
                .split('&')
                .filter_map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => replacement.map(|r| format!("password={r}")),
                    _ => Some(pair.to_owned()),
                })
                .collect::<Vec<_>>()
                .join("&");
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        // Documented in operator.md with the other units.
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        let error = parse_duration("2x").unwrap_err();
        assert!(error.contains("units s, m, h, d, w"), "{error}");
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(30 * 60)));
        assert_eq!(parse_duration(" 45s "), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn durations_print_in_whole_units_and_read_back() {
        for (text, printed) in [
            ("90d", "90d"),
            ("2w", "14d"),
            ("36h", "36h"),
            ("90m", "90m"),
            ("60s", "1m"),
            ("45s", "45s"),
            ("1h 30m 5s", "5405s"),
            ("0s", "0s"),
            ("1500ms", "1s 500ms"),
        ] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(format_duration(duration), printed, "{text}");
            assert_eq!(parse_duration(printed), Ok(duration), "{text}");
        }
    }

    #[test]
    fn retentions_are_durations_or_off() {
        let days = |n: u64| Retention(Some(Duration::from_secs(n * 86_400)));
        assert_eq!(parse_retention("30d"), Ok(days(30)));
        assert_eq!(parse_retention(" OFF "), Ok(Retention(None)));
        assert!(parse_retention("never").is_err());
        // What `config` prints reads back as the same value.
        for retention in [days(30), Retention(None)] {
            assert_eq!(parse_retention(&retention.to_string()), Ok(retention));
        }
        let defaults = Settings::resolve(
            &GlobalArgs::default(),
            &ServeArgs::default(),
            &FileConfig::default(),
        )
        .unwrap();
        assert_eq!(
            defaults.serve.server.tombstone_retention,
            Some(Duration::from_secs(30 * 86_400))
        );
    }

    #[test]
    fn flags_and_env_win_over_the_file_which_wins_over_defaults() {
        let file: FileConfig = toml::from_str(
            r#"
            listen = "0.0.0.0:9000"
            max_page_size = 500
            max_member_values = 50
            max_list_bytes = 65536
            bulk_max_operations = 200
            max_document_bytes = 65536
            max_attribute_values = 20
            token_cache_ttl = "10s"
            delete_mode = "purge"
            data_dir = "/var/lib/scim"
            "#,
        )
        .unwrap();
        let serve = ServeArgs {
            listen: Some("127.0.0.1:7000".into()),
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(&GlobalArgs::default(), &serve, &file).unwrap();
        assert_eq!(settings.serve.listen, "127.0.0.1:7000");
        assert_eq!(settings.serve.server.max_page_size, 500);
        assert_eq!(settings.serve.server.max_member_values, 50);
        assert_eq!(settings.serve.server.max_list_bytes, 65536);
        assert_eq!(settings.serve.server.bulk.max_operations, 200);
        assert_eq!(
            settings.serve.server.bulk.max_payload_bytes,
            BulkLimits::default().max_payload_bytes
        );
        assert_eq!(settings.serve.server.limits.max_document_bytes, 65536);
        assert_eq!(settings.serve.server.limits.max_values, 20);
        assert_eq!(
            settings.serve.server.limits.max_string_bytes,
            Limits::default().max_string_bytes
        );
        assert_eq!(settings.serve.server.default_page_size, 100);
        assert_eq!(settings.serve.token_cache_ttl, Duration::from_secs(10));
        assert_eq!(settings.serve.server.delete_mode, DeleteMode::Purge);
        assert_eq!(settings.database_url, "sqlite:///var/lib/scim/scim.db");
        assert!(settings.serve.migrate);

        let defaults = Settings::resolve(
            &GlobalArgs::default(),
            &ServeArgs::default(),
            &FileConfig::default(),
        )
        .unwrap();
        assert_eq!(defaults.serve.listen, "127.0.0.1:8080");
        assert_eq!(defaults.database_url, "sqlite://./data/scim.db");
        // The library's defaults, but for the rate limit, which scimd sets and a library
        // leaves to the embedding application.
        assert_eq!(
            defaults.serve.server,
            ServerConfig {
                rate_limit: Some(DEFAULT_RATE_LIMIT),
                ..ServerConfig::default()
            }
        );
        assert_eq!(defaults.serve.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(defaults.log.format, LogFormat::Human);
    }

    #[test]
    fn no_migrate_wins() {
        let file: FileConfig = toml::from_str("migrate = true").unwrap();
        let serve = ServeArgs {
            no_migrate: true,
            migrate: Some(true),
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(&GlobalArgs::default(), &serve, &file).unwrap();
        assert!(!settings.serve.migrate);
        let file: FileConfig = toml::from_str("migrate = false").unwrap();
        let settings =
            Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).unwrap();
        assert!(!settings.serve.migrate);
    }

    #[test]
    fn unknown_and_invalid_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        assert!(toml::from_str::<FileConfig>("delete_mode = \"shred\"").is_err());
        let file: FileConfig = toml::from_str("shutdown_timeout = \"forever\"").unwrap();
        let error = Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file)
            .unwrap_err()
            .to_string();
        assert!(error.contains("shutdown_timeout"), "{error}");
        let file: FileConfig = toml::from_str("default_page_size = 5000").unwrap();
        assert!(Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).is_err());
    }

    #[test]
    fn printed_configuration_reads_back_and_hides_the_password() {
        let global = GlobalArgs {
            database_url: Some(
                "postgres://scim:s3cret@db.internal:5432/scim?password=x2&sslmode=require".into(),
            ),
            ..GlobalArgs::default()
        };
        let settings =
            Settings::resolve(&global, &ServeArgs::default(), &FileConfig::default()).unwrap();
        let printed = settings.to_toml();
        assert!(
            !printed.contains("s3cret") && !printed.contains("x2"),
            "{printed}"
        );
        assert!(printed.contains("sslmode=require"), "{printed}");
        let file: FileConfig = toml::from_str(&printed).unwrap();
        let again =
            Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).unwrap();
        assert_eq!(again.serve.server, settings.serve.server);
        assert_eq!(again.serve.token_cache_ttl, settings.serve.token_cache_ttl);
        assert_eq!(
            again.serve.shutdown_timeout,
            settings.serve.shutdown_timeout
        );
    }

    #[test]
    fn trusted_proxies_come_from_flags_or_the_file() {
        let file: FileConfig =
            toml::from_str(r#"trusted_proxies = ["10.0.0.0/8", "2001:db8::/32"]"#).unwrap();
        let from_file =
            Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).unwrap();
        let listed: Vec<String> = from_file
            .serve
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["10.0.0.0/8", "2001:db8::/32"]);
        // Printed, and read back.
        let printed = from_file.to_toml();
        assert!(
            printed.contains(r#"trusted_proxies = ["10.0.0.0/8", "2001:db8::/32"]"#),
            "{printed}"
        );
        let again: FileConfig = toml::from_str(&printed).unwrap();
        assert_eq!(again.trusted_proxies, file.trusted_proxies);

        let serve = ServeArgs {
            trusted_proxies: vec!["192.0.2.10".into()],
            ..ServeArgs::default()
        };
        let from_flag = Settings::resolve(&GlobalArgs::default(), &serve, &file).unwrap();
        assert_eq!(
            from_flag.serve.server.trusted_proxies,
            ["192.0.2.10/32".parse::<IpCidr>().unwrap()]
        );
        // An empty variable lists none, over the file.
        let serve = ServeArgs {
            trusted_proxies: vec![String::new()],
            ..ServeArgs::default()
        };
        let emptied = Settings::resolve(&GlobalArgs::default(), &serve, &file).unwrap();
        assert!(emptied.serve.server.trusted_proxies.is_empty());

        let file: FileConfig = toml::from_str(r#"trusted_proxies = ["10.0.0.1/8"]"#).unwrap();
        let error = Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file)
            .unwrap_err()
            .to_string();
        assert!(error.contains("trusted_proxies"), "{error}");
        let file: FileConfig = toml::from_str(r#"trusted_proxies = ["0.0.0.0/0"]"#).unwrap();
        assert!(Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).is_err());
        assert!(check_cidr("proxy.internal").is_err());
        assert_eq!(check_cidr(" ::1 "), Ok("::1".to_owned()));
    }

    #[test]
    fn trust_forwarded_for_true_is_refused_not_ignored() {
        let file: FileConfig = toml::from_str("trust_forwarded_for = true").unwrap();
        let error = Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file)
            .unwrap_err()
            .to_string();
        assert!(error.contains("trusted_proxies"), "{error}");
        let serve = ServeArgs {
            trust_forwarded_for: Some(true),
            ..ServeArgs::default()
        };
        let file = FileConfig::default();
        assert!(Settings::resolve(&GlobalArgs::default(), &serve, &file).is_err());
        // `false` meant what no setting means now.
        let file: FileConfig = toml::from_str("trust_forwarded_for = false").unwrap();
        let settings =
            Settings::resolve(&GlobalArgs::default(), &ServeArgs::default(), &file).unwrap();
        assert!(settings.serve.server.trusted_proxies.is_empty());
        assert!(!settings.to_toml().contains("trust_forwarded_for"));
    }

    #[test]
    fn database_urls_are_redacted() {
        assert_eq!(
            redact_database_url("postgresql://u:p@h/db"),
            "postgresql://u:REDACTED@h/db"
        );
        assert_eq!(
            redact_database_url("postgres://u@h/db"),
            "postgres://u@h/db"
        );
        assert_eq!(
            redact_database_url("sqlite://./data/scim.db"),
            "sqlite://./data/scim.db"
        );
        assert_eq!(
            redact_database_url("postgres://h/db?user=u&password=p"),
            "postgres://h/db?user=u&password=REDACTED"
        );
    }
}
