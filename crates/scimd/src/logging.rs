//! Logging to stderr through `tracing`: human-readable lines or JSON objects, filtered by level
//! and target. stdout is kept for what commands print for scripts (a new token).

use std::io::IsTerminal as _;
use std::str::FromStr as _;

use anyhow::Context as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber (and routes the `log` records of actix through it).
///
/// # Errors
/// When the filter does not parse or a subscriber is already installed.
pub fn init(settings: &LogSettings, default_filter: &str) -> anyhow::Result<()> {
    let directives = settings.filter.as_deref().unwrap_or(default_filter);
    let filter = Targets::from_str(directives)
        .with_context(|| format!("invalid log filter `{directives}`"))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    result.context("cannot install the logger")
}
