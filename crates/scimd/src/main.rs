//! `scimd`: the SCIM 2.0 server binary — `serve`, `migrate`, and organisation and token
//! management. A thin shell over the scim-* crates: it reads the configuration (flags, `SCIM_*`
//! environment variables, a TOML file), sets up logging, and calls them.

mod db;
mod logging;
mod org;
mod serve;
mod settings;
mod token;
mod tombstones;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::settings::{FileConfig, GlobalArgs, LogFormat, ServeArgs, Settings};

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
    /// "default" and prints its first token once.
    Serve(ServeArgs),
    /// Print the configuration `serve` would run with, as TOML, and exit.
    Config(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage organisations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API tokens: each belongs to one organisation and sees only its resources.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Delete the tombstones of deleted users and groups now, in every organisation, and print
    /// how many (their events stay).
    PurgeTombstones {
        /// Only tombstones deleted at least this long ago, e.g. 30d [default: all]
        #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
        older_than: Option<Duration>,
    },
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
        /// Lifetime, e.g. 90d, 12h or 30m [default: never expires].
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
            Ok(())
        }
        Command::Migrate => {
            admin_store()?;
            println!("database is up to date");
            Ok(())
        }
        Command::Org(OrgCommand::Create { name }) => org::create(&admin_store()?, &name),
        Command::Org(OrgCommand::List) => org::list(&admin_store()?),
        Command::Token(TokenCommand::Create {
            org,
            name,
            expires_in,
        }) => token::create(&admin_store()?, &org, &name, expires_in),
        Command::Token(TokenCommand::List { org }) => token::list(&admin_store()?, &org),
        Command::Token(TokenCommand::Revoke { id }) => {
            token::revoke(&admin_store()?, &id, settings.serve.token_cache_ttl)
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
