//! The service's settings: a plain struct the embedding application fills in. The library never
//! reads the environment or a file; `scimd` does that once and hands the result over.

use crate::oauth::OAuthConfig;
use crate::webhooks::WebhookConfig;
use scim_model::schema::{DeclarationError, Declarations};
use scim_store::orgs::RateLimit;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

pub use scim_model::limits::{LimitError, Limits};
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
    /// The reverse proxies whose forwarding headers are believed. When the TCP peer is in one
    /// of these networks, the client address used to throttle failed authentications is the
    /// rightmost address in `Forwarded` (RFC 7239) or `X-Forwarded-For` that is not itself a
    /// trusted proxy, and the derived base URL follows the forwarded host and scheme. From any
    /// other peer those headers are ignored, so a client cannot choose its own address. Empty
    /// (the default): the peer address is the client, and forwarding headers are never read.
    /// List only addresses clients cannot connect from.
    pub trusted_proxies: Vec<IpCidr>,
    /// The most bytes of resources one list or search response carries: past it the page
    /// holds fewer resources than asked (RFC 7644 §3.4.2.4 allows it; `itemsPerPage` says how
    /// many) and the client continues from there. A page always holds at least one resource.
    /// Default: 16 MiB.
    pub max_list_bytes: usize,
    /// The most member values one request may carry (a group's POST or PUT `members`, or
    /// all member values of a PATCH's operations together); above it the request is refused
    /// with 400 and nothing changes. Default: 10,000.
    pub max_member_values: usize,
    /// What one request may carry: the longest string and indexed value, the most values of a
    /// multi-valued attribute (a group's `members` take `max_member_values` instead), PATCH
    /// operations, `attributes` names and filter nodes, and the largest stored resource.
    /// Beyond them a request is refused with 400 (413 for the resource size) and nothing
    /// changes. Default: [`Limits::default`].
    pub limits: Limits,
    /// How often tokens' last-use times, gathered in memory, are written to the store.
    /// Default: 30 s.
    pub last_used_flush_interval: Duration,
    /// The most database jobs (a request's reads, or its transaction) one organisation runs at
    /// once, so one tenant's expensive queries cannot hold every pooled connection; a request
    /// beyond it waits up to [`ServerConfig::org_db_wait`] and is then answered 429 with
    /// `Retry-After`. `None` (the default): half of the store's pool, at least 1. A deployment
    /// with one organisation may set it to the pool size.
    pub max_org_db_jobs: Option<usize>,
    /// How long a request waits for one of its organisation's database jobs to end when they
    /// are all busy (see [`ServerConfig::max_org_db_jobs`]). Default: 2 s.
    pub org_db_wait: Duration,
    /// How long a tombstone (a resource deleted under [`DeleteMode::Tombstone`]) keeps what it
    /// said about the resource. Past it the service scrubs the tombstone: its document (a user's
    /// password hash included), search document, unique name and externalId are erased; its id,
    /// timestamps and events stay, so the host application can still tell that, and when, it
    /// was deleted. `None` keeps them for ever. Default: 30 days.
    pub tombstone_retention: Option<Duration>,
    /// How often the service looks for tombstones past [`ServerConfig::tombstone_retention`]:
    /// on its first authenticated request, then at this interval. Default: 1 hour.
    pub tombstone_scrub_interval: Duration,
    /// A link to human-readable documentation, advertised as `documentationUri` in
    /// `/ServiceProviderConfig`.
    pub documentation_uri: Option<String>,
    /// The bounds on a bulk request (RFC 7644 §3.7), advertised in `/ServiceProviderConfig`.
    pub bulk: BulkLimits,
    /// How long an RFC 9865 cursor stays valid after the page that issued it; older ones are
    /// refused with `expiredCursor`. Advertised as `pagination.cursorTimeout` (whole seconds).
    /// Default: 1 hour.
    pub cursor_timeout: Duration,
    /// How long events stay in the outbox (the change feed and the audit trail). Older ones
    /// are deleted with the tombstone scrub; a feed consumer resuming from before them gets
    /// 410. `None` keeps them for ever. Default: 90 days.
    pub event_retention: Option<Duration>,
    /// How webhooks are delivered.
    pub webhooks: WebhookConfig,
    /// The request rate limit of an organisation that has none of its own
    /// (`scim_store::orgs::set_rate_limit`); over it a request gets 429 with `Retry-After`
    /// before any database work. `None`: no limit. Default: `None` here, so an embedding
    /// application chooses; `scimd` defaults to 1,000 requests/s with bursts of 2,000.
    pub rate_limit: Option<RateLimit>,
    /// The OAuth token endpoint's settings.
    pub oauth: OAuthConfig,
    /// Schema extensions declared as data (RFC 7643 §7 and §6 documents, see
    /// `scim_model::schema::Declarations`), served beside the built-in schemas: their values
    /// are validated, stored, returned, patched, filtered and sorted on like built-in ones.
    pub declarations: Declarations,
}

/// The bounds on one bulk request (RFC 7644 §3.7.4), advertised as `bulk.maxOperations` and
/// `bulk.maxPayloadSize`; beyond them the request is answered 413 before any of it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// The most operations one bulk request may carry. Default: 1,000.
    pub max_operations: usize,
    /// The largest bulk request body, in bytes (it replaces `max_body_bytes` for `/Bulk`).
    /// Default: 1 MiB.
    pub max_payload_bytes: usize,
    /// How long one bulk request may run: operations not started by then are not attempted
    /// (they are absent from the response, as after `failOnErrors`). Default: 60 s.
    pub time_budget: Duration,
}

impl Default for BulkLimits {
    fn default() -> Self {
        BulkLimits {
            max_operations: 1_000,
            max_payload_bytes: 1024 * 1024,
            time_budget: Duration::from_secs(60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: None,
            max_body_bytes: 1024 * 1024,
            default_page_size: 100,
            max_page_size: 1000,
            delete_mode: DeleteMode::Tombstone,
            trusted_proxies: Vec::new(),
            max_member_values: 10_000,
            max_list_bytes: 16 * 1024 * 1024,
            limits: Limits::default(),
            last_used_flush_interval: Duration::from_secs(30),
            max_org_db_jobs: None,
            org_db_wait: Duration::from_secs(2),
            tombstone_retention: Some(Duration::from_secs(30 * 24 * 60 * 60)),
            tombstone_scrub_interval: Duration::from_secs(60 * 60),
            documentation_uri: None,
            bulk: BulkLimits::default(),
            cursor_timeout: Duration::from_secs(60 * 60),
            event_retention: Some(Duration::from_secs(90 * 24 * 60 * 60)),
            webhooks: WebhookConfig::default(),
            rate_limit: None,
            oauth: OAuthConfig::default(),
            declarations: Declarations::new(),
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
    /// `max_member_values` is zero.
    #[error("max_member_values must be at least 1")]
    ZeroMemberValues,
    /// `max_list_bytes` is zero.
    #[error("max_list_bytes must be at least 1")]
    ZeroListBytes,
    /// A limit in `limits` is unusable.
    #[error(transparent)]
    Limits(#[from] LimitError),
    /// `max_org_db_jobs` is zero.
    #[error("max_org_db_jobs must be at least 1")]
    ZeroOrgDbJobs,
    /// `tombstone_scrub_interval` is zero.
    #[error("tombstone_scrub_interval must be positive")]
    ScrubInterval,
    /// A bulk limit is zero.
    #[error("bulk max_operations, max_payload_bytes and time_budget must be positive")]
    ZeroBulkLimit,
    /// `cursor_timeout` is zero.
    #[error("cursor_timeout must be positive")]
    CursorTimeout,
    /// `trusted_proxies` holds a network of prefix length 0, which would let every client
    /// forward its own address.
    #[error(
        "trusted_proxies must not contain {0}: every client could then choose its own address"
    )]
    TrustEveryone(IpCidr),
    /// A declared schema or resource type cannot be served.
    #[error("declared schemas: {0}")]
    Declarations(#[from] DeclarationError),
    /// The stored resources could not be brought in line with the declarations: live resources
    /// already share a value of an attribute now declared unique, or the database failed.
    #[error("declared schemas: the stored resources do not fit them: {0}")]
    Reindex(String),
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
        if self.max_member_values == 0 {
            return Err(ConfigError::ZeroMemberValues);
        }
        if self.max_list_bytes == 0 {
            return Err(ConfigError::ZeroListBytes);
        }
        self.limits.validate()?;
        if self.max_org_db_jobs == Some(0) {
            return Err(ConfigError::ZeroOrgDbJobs);
        }
        if self.tombstone_scrub_interval.is_zero() {
            return Err(ConfigError::ScrubInterval);
        }
        if self.bulk.max_operations == 0
            || self.bulk.max_payload_bytes == 0
            || self.bulk.time_budget.is_zero()
        {
            return Err(ConfigError::ZeroBulkLimit);
        }
        if self.cursor_timeout.is_zero() {
            return Err(ConfigError::CursorTimeout);
        }
        if let Some(everyone) = self.trusted_proxies.iter().find(|net| net.prefix() == 0) {
            return Err(ConfigError::TrustEveryone(*everyone));
        }
        Ok(())
    }

    /// Whether `peer` is one of [`ServerConfig::trusted_proxies`].
    pub(crate) fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(peer))
    }

    /// The configured base URL without its trailing slashes, if one is set.
    pub(crate) fn fixed_base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .map(|url| url.trim_end_matches('/'))
    }
}

/// An IP network in CIDR notation, as [`ServerConfig::trusted_proxies`] lists them:
/// `10.0.0.0/8`, `2001:db8::/32`, or a single address (`192.0.2.10` is `/32`, `::1` is
/// `/128`).
///
/// ```
/// use scim_server::IpCidr;
///
/// let net: IpCidr = "10.1.0.0/16".parse()?;
/// assert!(net.contains("10.1.200.3".parse()?));
/// assert!(!net.contains("10.2.0.1".parse()?));
/// // An IPv4 address seen as IPv4-mapped IPv6 is still that address.
/// assert!(net.contains("::ffff:10.1.0.9".parse()?));
/// assert_eq!(net.to_string(), "10.1.0.0/16");
/// assert!("10.1.0.1/16".parse::<IpCidr>().is_err()); // bits set past the prefix
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a string is not an [`IpCidr`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address")]
    Address(String),
    /// The part after `/` is not a number from 0 to 32 (IPv4) or 128 (IPv6).
    #[error("the prefix length of {address} must be a number from 0 to {max}")]
    Prefix {
        /// The address before the `/`.
        address: IpAddr,
        /// The longest prefix for that address family.
        max: u8,
    },
    /// Bits are set past the prefix (`10.0.0.1/8`): refused rather than guessed at, since the
    /// writer may have meant the network or the single address.
    #[error("{written} has bits set past its prefix; the network is {network}")]
    HostBits {
        /// What was written.
        written: String,
        /// The network those bits belong to.
        network: IpCidr,
    },
}

impl IpCidr {
    /// The network of `prefix` bits starting at `network`.
    ///
    /// # Errors
    /// [`CidrError::Prefix`] when `prefix` is too long for the address family,
    /// [`CidrError::HostBits`] when `network` has bits set past it.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let max = max_prefix(network);
        if prefix > max {
            return Err(CidrError::Prefix {
                address: network,
                max,
            });
        }
        let cidr = IpCidr { network, prefix };
        let masked = IpCidr {
            network: mask(network, prefix),
            prefix,
        };
        if masked != cidr {
            return Err(CidrError::HostBits {
                written: format!("{network}/{prefix}"),
                network: masked,
            });
        }
        Ok(cidr)
    }

    /// The first address of the network.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a
    /// dual-stack socket reports an IPv4 peer) counts as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with every bit past the first `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & keep))
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & keep))
        }
    }
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| CidrError::Address(address.to_owned()))?;
        let max = max_prefix(network);
        let prefix = match prefix {
            None => max,
            // `u8::from_str` takes a `+` sign; a prefix length is digits only.
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().map_err(|_| CidrError::Prefix {
                    address: network,
                    max,
                })?
            }
            Some(_) => {
                return Err(CidrError::Prefix {
                    address: network,
                    max,
                })
            }
        };
        IpCidr::new(network, prefix)
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
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
        assert_eq!(
            bad(|c| c.max_member_values = 0),
            Err(ConfigError::ZeroMemberValues)
        );
        assert_eq!(
            bad(|c| c.max_list_bytes = 0),
            Err(ConfigError::ZeroListBytes)
        );
        assert_eq!(
            bad(|c| c.limits.max_document_bytes = 0),
            Err(ConfigError::Limits(LimitError::Zero("max_document_bytes")))
        );
        assert_eq!(
            bad(|c| c.max_org_db_jobs = Some(0)),
            Err(ConfigError::ZeroOrgDbJobs)
        );
        assert_eq!(
            bad(|c| c.tombstone_scrub_interval = Duration::ZERO),
            Err(ConfigError::ScrubInterval)
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
    #[test]
    fn cidrs_parse_strictly() {
        let net = |text: &str| text.parse::<IpCidr>();
        assert_eq!(net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(net(" 192.0.2.7 ").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(net("::1").unwrap().to_string(), "::1/128");
        assert_eq!(net("2001:db8::/32").unwrap().prefix(), 32);
        assert_eq!(net("0.0.0.0/0").unwrap().prefix(), 0);
        assert_eq!(
            net("proxy.internal"),
            Err(CidrError::Address("proxy.internal".into()))
        );
        assert_eq!(net("10.0.0.0/"), net("10.0.0.0/+8"));
        assert!(matches!(
            net("10.0.0.0/33"),
            Err(CidrError::Prefix { max: 32, .. })
        ));
        assert!(matches!(
            net("::/129"),
            Err(CidrError::Prefix { max: 128, .. })
        ));
        assert!(matches!(net("10.0.0.0/999"), Err(CidrError::Prefix { .. })));
        assert!(matches!(net("[::1]/128"), Err(CidrError::Address(_))));
        let Err(CidrError::HostBits { network, .. }) = net("10.1.2.3/8") else {
            panic!("host bits accepted");
        };
        assert_eq!(network.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn cidrs_contain_their_addresses_only() {
        let net = |text: &str| text.parse::<IpCidr>().unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.255.255.255")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.0")));
        assert!(net("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!net("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::1")));
        // IPv4-mapped peers are their IPv4 address, and the families do not mix otherwise.
        assert!(net("192.0.2.0/24").contains(ip("::ffff:192.0.2.1")));
        assert!(!net("::/0").contains(ip("192.0.2.1")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
    }

    #[test]
    fn trusting_every_address_is_refused() {
        for everyone in ["0.0.0.0/0", "::/0"] {
            let config = ServerConfig {
                trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), everyone.parse().unwrap()],
                ..ServerConfig::default()
            };
            assert_eq!(
                config.validate(),
                Err(ConfigError::TrustEveryone(everyone.parse().unwrap()))
            );
        }
    }
}
