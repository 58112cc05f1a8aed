//! The service's settings: a plain struct the embedding application fills in. The library never
//! reads the environment or a file; `scimd` does that once and hands the result over.

use std::time::Duration;

pub use scim_store::users::DeleteMode;

/// How the SCIM service behaves. Build one with struct update syntax over
/// [`ServerConfig::default`]:
///
/// ```
/// use scim_server::ServerConfig;
///
/// let config = ServerConfig {
///     base_url: Some("https://scim.example.com/scim/v2".into()),
///     ..ServerConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The public URL the service is reached at, up to and including its mount path (e.g.
    /// `https://scim.example.com/scim/v2`), used for `meta.location` and `Location`. `None`
    /// derives it per request from the `Host` header, the connection's scheme and the path the
    /// service is mounted at; set it when a proxy rewrites any of those.
    pub base_url: Option<String>,
    /// The largest request body accepted, in bytes; larger ones get 413. Default: 1 MiB.
    pub max_body_bytes: usize,
    /// Results per page when a query names no `count` (RFC 7644 §3.4.2.4). Default: 100.
    pub default_page_size: u32,
    /// The most results one page returns, whatever `count` asks for; advertised as
    /// `filter.maxResults`. Default: 1000.
    pub max_page_size: u32,
    /// What DELETE does to a row: remove it, or keep it as an invisible tombstone.
    /// Default: [`DeleteMode::Tombstone`], which keeps history for the host application.
    pub delete_mode: DeleteMode,
    /// Whether the client address used to throttle failed authentications is taken from
    /// `Forwarded` / `X-Forwarded-For` (set it only behind a proxy that overwrites those
    /// headers) rather than from the TCP peer. The same switch lets the derived base URL follow
    /// `X-Forwarded-Host` / `X-Forwarded-Proto`. Default: false.
    pub trust_forwarded_for: bool,
    /// The most member values one request may carry (a group's POST or PUT `members`, or
    /// all member values of a PATCH's operations together); above it the request is refused
    /// with 400 and nothing changes. Default: 10,000.
    pub max_member_values: usize,
    /// How often tokens' last-use times, gathered in memory, are written to the store.
    /// Default: 30 s.
    pub last_used_flush_interval: Duration,
    /// A link to human-readable documentation, advertised as `documentationUri` in
    /// `/ServiceProviderConfig`.
    pub documentation_uri: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: None,
            max_body_bytes: 1024 * 1024,
            default_page_size: 100,
            max_page_size: 1000,
            delete_mode: DeleteMode::Tombstone,
            trust_forwarded_for: false,
            max_member_values: 10_000,
            last_used_flush_interval: Duration::from_secs(30),
            documentation_uri: None,
        }
    }
}

/// Why a [`ServerConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_body_bytes` is zero.
    #[error("max_body_bytes must be at least 1")]
    ZeroBodyLimit,
    /// `max_page_size` is zero.
    #[error("max_page_size must be at least 1")]
    ZeroPageSize,
    /// `default_page_size` is zero or above `max_page_size`.
    #[error("default_page_size must be between 1 and max_page_size ({max})")]
    DefaultPageSize {
        /// The configured `max_page_size`.
        max: u32,
    },
    /// `base_url` is not an absolute `http(s)://` URL without query or fragment.
    #[error("base_url must be an absolute http:// or https:// url without query or fragment")]
    BaseUrl,
    /// `last_used_flush_interval` is zero.
    #[error("last_used_flush_interval must be positive")]
    FlushInterval,
}

impl ServerConfig {
    /// Checks the settings for values the service cannot work with.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        if self.max_page_size == 0 {
            return Err(ConfigError::ZeroPageSize);
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return Err(ConfigError::DefaultPageSize {
                max: self.max_page_size,
            });
        }
        if let Some(url) = &self.base_url {
            if !is_base_url(url) {
                return Err(ConfigError::BaseUrl);
            }
        }
        if self.last_used_flush_interval.is_zero() {
            return Err(ConfigError::FlushInterval);
        }
        Ok(())
    }

    /// The configured base URL without its trailing slashes, if one is set.
    pub(crate) fn fixed_base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .map(|url| url.trim_end_matches('/'))
    }
}

fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or_default();
            !host.is_empty()
                && !rest.contains(['?', '#'])
                && !rest.contains(|c: char| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn refuses_unusable_values() {
        let bad = |change: fn(&mut ServerConfig)| {
            let mut config = ServerConfig::default();
            change(&mut config);
            config.validate()
        };
        assert_eq!(
            bad(|c| c.max_body_bytes = 0),
            Err(ConfigError::ZeroBodyLimit)
        );
        assert_eq!(bad(|c| c.max_page_size = 0), Err(ConfigError::ZeroPageSize));
        assert_eq!(
            bad(|c| c.default_page_size = 2000),
            Err(ConfigError::DefaultPageSize { max: 1000 })
        );
        assert_eq!(
            bad(|c| c.default_page_size = 0),
            Err(ConfigError::DefaultPageSize { max: 1000 })
        );
        for url in [
            "scim.example.com",
            "ftp://x",
            "https://",
            "https:///x",
            "https://x/?a",
            "https://x/#f",
            "https://x y",
        ] {
            let config = ServerConfig {
                base_url: Some(url.into()),
                ..ServerConfig::default()
            };
            assert_eq!(config.validate(), Err(ConfigError::BaseUrl), "{url}");
        }
        assert_eq!(
            bad(|c| c.last_used_flush_interval = Duration::ZERO),
            Err(ConfigError::FlushInterval)
        );
    }

    #[test]
    fn base_url_loses_trailing_slashes() {
        let config = ServerConfig {
            base_url: Some("https://x.example/scim/v2//".into()),
            ..ServerConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.fixed_base_url(), Some("https://x.example/scim/v2"));
    }
}
