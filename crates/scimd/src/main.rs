//! `scimd`: the SCIM 2.0 server binary — `serve`, `migrate`, and organisation and token
//! management. A thin shell over the scim-* crates: it reads the configuration (flags, `SCIM_*`
//! environment variables, a TOML file), sets up logging, and calls them.

mod admin_token;
mod client;
mod db;
mod logging;
mod org;
mod serve;
mod settings;
mod token;
mod tombstones;
mod webhook;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::settings::{CacheTtlArg, FileConfig, GlobalArgs, LogFormat, ServeArgs, Settings};

/// A SCIM 2.0 service provider: identity providers (Okta, Entra ID, OneLogin, …) provision
/// users into it at /scim/v2.
///
/// Settings come from flags, then SCIM_* environment variables, then the --config file, then
/// defaults. Runs on an SQLite file under ./data by default; pass a postgres:// URL for
/// PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "scimd", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve SCIM at /scim/v2 (and /healthz). On an empty database, creates the organisation
    /// "default" and its first token, printed once on stdout (or written to
    /// --bootstrap-token-file; --no-bootstrap creates neither).
    Serve(ServeArgs),
    /// Print the configuration `serve` would run with, as TOML, and exit.
    Config(ServeArgs),
    /// Apply the database migrations and exit (`up`, the default), list them (`status`), or
    /// revert the newest (`down`, for development).
    Migrate {
        /// What to do [default: up].
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Manage organisations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API tokens: each belongs to one organisation and sees only its resources.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage admin tokens: credentials for the admin API (/admin/v1: change feed, session
    /// checks, webhooks), never accepted for SCIM.
    #[command(subcommand, name = "admin-token")]
    AdminToken(AdminTokenCommand),
    /// Manage webhooks: signed POSTs of an organisation's events.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Manage OAuth 2.0 clients (client credentials at /oauth/token), for identity providers
    /// that will not use a static token.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Delete the tombstones of deleted users and groups now, in every organisation, and print
    /// how many (their events stay).
    PurgeTombstones {
        /// Only tombstones deleted at least this long ago, e.g. 30d [default: all]
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        older_than: Option<Duration>,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply the migrations the database lacks.
    Up,
    /// List every migration this build carries and whether the database has it.
    Status,
    /// Revert the newest migration the database has (its data goes with it).
    Down,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Its unique name.
        name: String,
    },
    /// List organisations.
    List,
    /// Change an organisation's settings.
    Set {
        /// The organisation.
        name: String,
        /// Whether SCIM manages its users (the host application then switches off its own
        /// JIT provisioning); `unset` lets the next SCIM write set it true.
        #[arg(long, value_name = "true|false|unset", value_parser = parse_tristate)]
        scim_managed: Option<Tristate>,
        /// Its own request rate limit, e.g. 50/s; `default` returns it to the server's
        /// (--rate-limit of `serve`).
        #[arg(long, value_name = "N[/s]|default", value_parser = parse_org_rate)]
        rate_limit: Option<OrgRate>,
        /// Requests it may make at once after a quiet period [default: twice the rate].
        #[arg(long, value_name = "N", requires = "rate_limit")]
        burst: Option<u32>,
        /// `strict`: the SCIM interoperability profile (draft-zollner-scim-interop-profile);
        /// `tolerant` (the default): what today's identity providers send.
        #[arg(long, value_enum)]
        interop_profile: Option<org::Profile>,
    },
}

/// An organisation's own rate, or the server's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgRate {
    PerSecond(u32),
    Default,
}

fn parse_org_rate(value: &str) -> Result<OrgRate, String> {
    if value.trim().eq_ignore_ascii_case("default") {
        return Ok(OrgRate::Default);
    }
    match settings::parse_rate(value)? {
        settings::Rate(Some(n)) => Ok(OrgRate::PerSecond(n)),
        settings::Rate(None) => {
            Err("an organisation's limit cannot be off; use a high rate".into())
        }
    }
}

/// A flag that may be true, false, or left to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tristate(Option<bool>);

fn parse_tristate(value: &str) -> Result<Tristate, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(Tristate(Some(true))),
        "false" | "no" | "off" | "0" => Ok(Tristate(Some(false))),
        "unset" | "auto" => Ok(Tristate(None)),
        _ => Err("expected true, false or unset".into()),
    }
}

#[derive(Debug, Subcommand)]
enum AdminTokenCommand {
    /// Create an admin token and print it (only it) on stdout; it is not shown again.
    Create {
        /// An organisation it may manage; repeat for several [default: every organisation].
        #[arg(long, value_name = "NAME")]
        org: Vec<String>,
        /// A label [default: admin-<id>].
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        /// Lifetime, e.g. 90d [default: never expires].
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List admin tokens, never a secret.
    List,
    /// Revoke an admin token by id.
    Revoke {
        /// The token id (the 16 characters after `scim_`).
        id: String,
        #[command(flatten)]
        cache: CacheTtlArg,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Create a client; prints exactly `client_id=…` and `client_secret=…` (the secret is
    /// shown only now).
    Create {
        /// The organisation it acts for.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// A name unique within the organisation, e.g. entra-prod.
        #[arg(long, value_name = "LABEL")]
        name: String,
        /// The secret's lifetime, at most 3 years [default: 365d].
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        expires_in: Option<Duration>,
        /// A JWK set file with the client's public keys, for private_key_jwt (RFC 7523).
        #[arg(long, value_name = "FILE")]
        jwks: Option<std::path::PathBuf>,
    },
    /// List an organisation's clients and their secrets' ids and dates, never a secret.
    List {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
    },
    /// Add a secret to a client and print it; its other secrets stay valid, so rotation has
    /// no gap.
    Rotate {
        /// The client id.
        id: String,
        /// The new secret's lifetime, at most 3 years [default: 365d].
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// Revoke a client: no new tokens, and its access tokens stop working.
    Revoke {
        /// The client id.
        id: String,
    },
    /// Revoke one secret of a client (as `client list` shows its id).
    RevokeSecret {
        /// The secret's id.
        id: String,
        #[command(flatten)]
        cache: CacheTtlArg,
    },
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Add a webhook; prints `id=…` and `secret=…` (the signing secret, shown only now). It
    /// receives the events written from now on.
    Add {
        /// The organisation whose events it receives.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// Where events are POSTed (http:// or https://).
        #[arg(long, value_name = "URL")]
        url: String,
        /// Only these kinds, comma separated: created, updated, deactivated, reactivated,
        /// deleted, member_added, member_removed [default: all].
        #[arg(long, value_name = "KINDS", value_delimiter = ',')]
        events: Vec<String>,
    },
    /// List an organisation's webhooks with their delivery state.
    List {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
    },
    /// Delivery state of a webhook (or all of the organisation's): last delivered seq,
    /// pending events, lag, last error.
    Status {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// The webhook id [default: all].
        id: Option<String>,
    },
    /// Remove a webhook.
    Remove {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// The webhook id.
        id: String,
    },
    /// Give a webhook a new signing secret (printed once); the old one keeps signing beside it
    /// for a day.
    RotateSecret {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// The webhook id.
        id: String,
    },
    /// Resume a webhook paused after repeated failures.
    Resume {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// The webhook id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (only it) on stdout; it is not shown again.
    Create {
        /// The organisation it acts for.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// A name unique within the organisation, e.g. okta-prod.
        #[arg(long, value_name = "LABEL")]
        name: String,
        /// Lifetime, e.g. 90d, 2w, 12h or 30m [default: never expires].
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List an organisation's tokens: id, name and dates, never a secret.
    List {
        /// The organisation.
        #[arg(long, value_name = "NAME")]
        org: String,
    },
    /// Revoke a token by id (the 16 characters after `scim_`, as `token list` shows).
    Revoke {
        /// The token id.
        id: String,
        #[command(flatten)]
        cache: CacheTtlArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { error, json_logs }) => {
            // Once, where the operator looks: the JSON log stream, or plain stderr.
            if json_logs {
                tracing::error!("{error:#}");
            } else {
                eprintln!("scimd: error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A command's failure, and whether it belongs in JSON logs rather than on plain stderr.
struct Failure {
    error: anyhow::Error,
    json_logs: bool,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            error,
            json_logs: false,
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let file = match &cli.global.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let serve_args = match &cli.command {
        Command::Serve(args) | Command::Config(args) => args.clone(),
        // A revocation reports the servers' cache TTL, read as `serve` reads it.
        Command::Token(TokenCommand::Revoke { cache, .. })
        | Command::AdminToken(AdminTokenCommand::Revoke { cache, .. })
        | Command::Client(ClientCommand::RevokeSecret { cache, .. }) => ServeArgs {
            token_cache_ttl: cache.token_cache_ttl,
            ..ServeArgs::default()
        },
        _ => ServeArgs::default(),
    };
    let settings = Settings::resolve(&cli.global, &serve_args, &file)?;
    let default_filter = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    logging::init(&settings.log, default_filter)?;
    let json_logs = settings.log.format == LogFormat::Json;
    execute(cli.command, &settings).map_err(|error| Failure { error, json_logs })
}

fn execute(command: Command, settings: &Settings) -> anyhow::Result<()> {
    let admin_store = || db::open(&settings.database_url, settings.serve.pool_config(1), true);
    match command {
        Command::Serve(_) => serve::run(settings),
        Command::Config(_) => {
            print!("{}", settings.to_toml());
            if let Some(warning) = settings.base_url_warning() {
                eprintln!("scimd: warning: {warning}");
            }
            if settings.database_url_file.is_none() && settings.database_url_has_password() {
                eprintln!(
                    "scimd: note: the database password is not printed; see the comment at the \
                     top of the output for where serve can find it"
                );
            }
            Ok(())
        }
        Command::Migrate { action } => {
            let unmigrated =
                || db::open(&settings.database_url, settings.serve.pool_config(1), false);
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => {
                    let store = unmigrated()?;
                    let before = store.migration_status()?.migrations;
                    db::migrate(&store, &settings.database_url)?;
                    let after = store.migration_status()?.migrations;
                    let applied: Vec<&String> = after
                        .iter()
                        .filter(|(name, done)| *done && before.contains(&(name.clone(), false)))
                        .map(|(name, _)| name)
                        .collect();
                    for name in &applied {
                        println!("applied {name}");
                    }
                    match applied.len() {
                        0 => println!("database is up to date: no migration was pending"),
                        n => println!(
                            "database is up to date: applied {n} migration{}",
                            if n == 1 { "" } else { "s" }
                        ),
                    }
                }
                MigrateAction::Status => {
                    let status = unmigrated()?.migration_status()?;
                    for (name, done) in &status.migrations {
                        println!("{} {name}", if *done { "applied" } else { "pending" });
                    }
                    for version in &status.unknown {
                        println!("unknown {version} (applied by a newer scimd)");
                    }
                }
                MigrateAction::Down => match unmigrated()?.revert_last_migration()? {
                    Some(name) => println!("reverted {name}"),
                    None => println!("no migration to revert"),
                },
            }
            Ok(())
        }
        Command::Org(OrgCommand::Create { name }) => org::create(&admin_store()?, &name),
        Command::Org(OrgCommand::List) => org::list(&admin_store()?),
        Command::Org(OrgCommand::Set {
            name,
            scim_managed,
            rate_limit,
            burst,
            interop_profile,
        }) => {
            let rate_limit = match rate_limit {
                None => None,
                Some(OrgRate::Default) => Some(None),
                Some(OrgRate::PerSecond(per_second)) => Some(Some(
                    scim_server::checked_rate_limit(
                        per_second,
                        burst.unwrap_or(per_second.saturating_mul(2)),
                    )
                    .map_err(anyhow::Error::msg)?,
                )),
            };
            org::set(
                &admin_store()?,
                &name,
                &org::Changes {
                    scim_managed: scim_managed.map(|t| t.0),
                    rate_limit,
                    interop_profile,
                },
            )
        }
        Command::AdminToken(AdminTokenCommand::Create {
            org,
            name,
            expires_in,
        }) => admin_token::create(&admin_store()?, &org, name.as_deref(), expires_in),
        Command::AdminToken(AdminTokenCommand::List) => admin_token::list(&admin_store()?),
        Command::AdminToken(AdminTokenCommand::Revoke { id, .. }) => {
            admin_token::revoke(&admin_store()?, &id, &settings.serve)
        }
        Command::Client(ClientCommand::Create {
            org,
            name,
            expires_in,
            jwks,
        }) => client::create(&admin_store()?, &org, &name, expires_in, jwks.as_deref()),
        Command::Client(ClientCommand::List { org }) => client::list(&admin_store()?, &org),
        Command::Client(ClientCommand::Rotate { id, expires_in }) => {
            client::rotate(&admin_store()?, &id, expires_in)
        }
        Command::Client(ClientCommand::Revoke { id }) => client::revoke(&admin_store()?, &id),
        Command::Client(ClientCommand::RevokeSecret { id, .. }) => {
            client::revoke_secret(&admin_store()?, &id, &settings.serve)
        }
        Command::Webhook(WebhookCommand::Add { org, url, events }) => {
            webhook::add(&admin_store()?, &org, &url, &events)
        }
        Command::Webhook(WebhookCommand::List { org }) => {
            webhook::status(&admin_store()?, &org, None)
        }
        Command::Webhook(WebhookCommand::Status { org, id }) => {
            webhook::status(&admin_store()?, &org, id.as_deref())
        }
        Command::Webhook(WebhookCommand::Remove { org, id }) => {
            webhook::remove(&admin_store()?, &org, &id)
        }
        Command::Webhook(WebhookCommand::RotateSecret { org, id }) => {
            webhook::rotate_secret(&admin_store()?, &org, &id)
        }
        Command::Webhook(WebhookCommand::Resume { org, id }) => {
            webhook::resume(&admin_store()?, &org, &id)
        }
        Command::Token(TokenCommand::Create {
            org,
            name,
            expires_in,
        }) => token::create(&admin_store()?, &org, &name, expires_in),
        Command::Token(TokenCommand::List { org }) => token::list(&admin_store()?, &org),
        Command::Token(TokenCommand::Revoke { id, .. }) => {
            token::revoke(&admin_store()?, &id, &settings.serve)
        }
        Command::PurgeTombstones { older_than } => {
            tombstones::purge(&admin_store()?, older_than.unwrap_or(Duration::ZERO))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
