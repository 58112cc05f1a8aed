//! Who a request came from, and for which host and scheme, when it may have passed through
//! reverse proxies — believing forwarding headers only as far as trusted proxies vouch for
//! them.
//!
//! RFC 7239 §8.1: the `Forwarded` field "cannot be relied upon to be correct, as it may be
//! modified, whether mistakenly or for malicious reasons, by every node on the way to the
//! server, including the client making the request"; `X-Forwarded-For` is no better. What can
//! be relied upon is what a trusted proxy appended (RFC 7239 §4: a proxy "can either append it
//! to the last existing "Forwarded" header field after a comma separator or add a new field at
//! the end of the header block"). So:
//!
//! - a request whose TCP peer is not a trusted proxy is from that peer, and its forwarding
//!   headers are not read at all;
//! - from a trusted proxy, the hops are read right to left, skipping trusted proxies; the first
//!   hop that is not one was written by a trusted proxy about its own peer, and is the client;
//! - a chain that does not parse, or `Forwarded` and `X-Forwarded-For` naming different
//!   clients, leaves the client undecided, and the peer is used. A client can make its own
//!   request fall there, but only there: it cannot take another client's address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{HeaderMap, HeaderName, FORWARDED};

use crate::config::ServerConfig;

/// `X-Forwarded-For`, `X-Forwarded-Host` and `X-Forwarded-Proto`: de facto, not registered.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// More hops than any real chain has; a longer one is refused rather than walked.
const MAX_HOPS: usize = 64;

/// The longest client name (an obfuscated RFC 7239 identifier, say) kept.
pub(crate) const MAX_CLIENT_NAME: usize = 64;

/// A hop's node: an address, or a name (RFC 7239 §6.2 `unknown`, §6.3 obfuscated `_…`, or
/// whatever else a trusted proxy wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// An address, IPv4-mapped IPv6 ones as IPv4.
    Ip(IpAddr),
    /// Not an address; at most [`MAX_CLIENT_NAME`] bytes.
    Named(String),
}

/// Where a request came from, as far as it can be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The client; `None` when the connection has no peer address (a test request).
    pub(crate) client: Option<Node>,
    /// The host the client asked for, as the trusted proxy nearest it reported it.
    pub(crate) host: Option<String>,
    /// The scheme the client used, as the trusted proxy nearest it reported it.
    pub(crate) proto: Option<String>,
}

/// One hop of a forwarding chain.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Hop {
    node: Option<Node>,
    host: Option<String>,
    proto: Option<String>,
}

/// What one forwarding header family says.
#[derive(Debug, PartialEq, Eq)]
enum Chain {
    Absent,
    Invalid,
    Hops(Vec<Hop>),
}

/// Resolves the origin of a request from `peer` with `headers` under `config`'s trusted
/// proxies.
pub(crate) fn resolve(headers: &HeaderMap, peer: Option<IpAddr>, config: &ServerConfig) -> Origin {
    let direct = |peer: Option<IpAddr>| Origin {
        client: peer.map(|ip| Node::Ip(ip.to_canonical())),
        host: None,
        proto: None,
    };
    let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
        return direct(None);
    };
    if !config.is_trusted_proxy(peer) {
        return direct(Some(peer));
    }
    let trusted = |node: &Option<Node>| match node {
        Some(Node::Ip(ip)) => config.is_trusted_proxy(*ip),
        _ => false,
    };
    let forwarded = pick(forwarded_chain(headers), trusted);
    let x_forwarded = pick(x_forwarded_chain(headers), trusted);
    let with_x_forwarded = |client: Option<Node>| Origin {
        client,
        host: last_value(headers, &X_FORWARDED_HOST),
        proto: last_value(headers, &X_FORWARDED_PROTO),
    };
    let unnamed = || Node::Named("unknown".to_owned());
    match (forwarded, x_forwarded) {
        (Pick::Hop(hop), Pick::Absent) => Origin {
            client: Some(hop.node.unwrap_or_else(unnamed)),
            host: hop.host,
            proto: hop.proto,
        },
        (Pick::Hop(hop), Pick::Hop(other)) if hop.node == other.node => Origin {
            client: Some(hop.node.unwrap_or_else(unnamed)),
            host: hop.host,
            proto: hop.proto,
        },
        (Pick::Absent, Pick::Hop(hop)) => with_x_forwarded(Some(hop.node.unwrap_or_else(unnamed))),
        // A proxy that only says which host and scheme it served.
        (Pick::Absent, Pick::Absent) => with_x_forwarded(Some(Node::Ip(peer))),
        // Unparseable, or two families naming different clients: nothing forwarded is
        // believed, and the request counts as the proxy's own.
        _ => direct(Some(peer)),
    }
}

/// What one header family yields.
enum Pick {
    Absent,
    Invalid,
    Hop(Hop),
}

/// The rightmost hop that is not a trusted proxy; the leftmost when all of them are (a request
/// a proxy made itself).
fn pick(chain: Chain, trusted: impl Fn(&Option<Node>) -> bool) -> Pick {
    match chain {
        Chain::Absent => Pick::Absent,
        Chain::Invalid => Pick::Invalid,
        Chain::Hops(mut hops) => {
            let index = hops
                .iter()
                .rposition(|hop| !trusted(&hop.node))
                .unwrap_or(0);
            if index < hops.len() {
                Pick::Hop(hops.swap_remove(index))
            } else {
                Pick::Absent
            }
        }
    }
}

/// The `Forwarded` fields (RFC 7239 §4), all lines in order.
fn forwarded_chain(headers: &HeaderMap) -> Chain {
    let mut hops = Vec::new();
    let mut present = false;
    for value in headers.get_all(FORWARDED) {
        present = true;
        let Ok(line) = value.to_str() else {
            return Chain::Invalid;
        };
        if parse_forwarded(line, &mut hops).is_err() {
            return Chain::Invalid;
        }
    }
    if present {
        Chain::Hops(hops)
    } else {
        Chain::Absent
    }
}

/// The `X-Forwarded-For` fields, all lines in order: comma-separated addresses.
fn x_forwarded_chain(headers: &HeaderMap) -> Chain {
    let mut hops = Vec::new();
    let mut present = false;
    for value in headers.get_all(X_FORWARDED_FOR) {
        present = true;
        let Ok(line) = value.to_str() else {
            return Chain::Invalid;
        };
        for element in line.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
            if hops.len() == MAX_HOPS {
                return Chain::Invalid;
            }
            hops.push(Hop {
                node: Some(node(element)),
                ..Hop::default()
            });
        }
    }
    if present {
        Chain::Hops(hops)
    } else {
        Chain::Absent
    }
}

/// The last comma-separated value of a de facto `X-Forwarded-*` field: the one the proxy
/// nearest this server wrote, if any proxy appended rather than replaced.
fn last_value(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let line = headers.get_all(name).last()?.to_str().ok()?;
    let value = trim_ows(line.rsplit(',').next()?);
    (!value.is_empty()).then(|| value.to_owned())
}

fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// RFC 7230 §3.2.6 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Appends the elements of one `Forwarded` line to `hops`:
///
/// ```text
/// Forwarded         = 1#forwarded-element
/// forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
/// forwarded-pair    = token "=" value
/// value             = token / quoted-string
/// ```
///
/// Any syntax error refuses the whole line: a quoted string left open by a client would
/// otherwise swallow the elements proxies appended after it.
fn parse_forwarded(line: &str, hops: &mut Vec<Hop>) -> Result<(), ()> {
    let bytes = line.as_bytes();
    let mut at = 0;
    let skip_ows = |at: &mut usize| {
        while bytes.get(*at).is_some_and(|b| *b == b' ' || *b == b'\t') {
            *at += 1;
        }
    };
    loop {
        let mut hop = Hop::default();
        let mut pairs = 0;
        loop {
            skip_ows(&mut at);
            match bytes.get(at) {
                None | Some(b',') => break,
                Some(b';') => {
                    at += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name_start = at;
            while bytes.get(at).copied().is_some_and(is_tchar) {
                at += 1;
            }
            let name = &line[name_start..at];
            if name.is_empty() || bytes.get(at) != Some(&b'=') {
                return Err(());
            }
            at += 1;
            let value = if bytes.get(at) == Some(&b'"') {
                quoted_string(line, &mut at)?
            } else {
                let value_start = at;
                while bytes.get(at).copied().is_some_and(is_tchar) {
                    at += 1;
                }
                if value_start == at {
                    return Err(());
                }
                line[value_start..at].to_owned()
            };
            // RFC 7239 §4: "Each parameter MUST NOT occur more than once per
            // forwarded-element."
            let slot = match name.to_ascii_lowercase().as_str() {
                "for" => {
                    if hop.node.is_some() {
                        return Err(());
                    }
                    hop.node = Some(node(&value));
                    None
                }
                "host" => Some(&mut hop.host),
                "proto" => Some(&mut hop.proto),
                _ => None,
            };
            if let Some(slot) = slot {
                if slot.replace(value).is_some() {
                    return Err(());
                }
            }
            pairs += 1;
            skip_ows(&mut at);
            match bytes.get(at) {
                None | Some(b',') => break,
                Some(b';') => at += 1,
                Some(_) => return Err(()),
            }
        }
        // RFC 7230 §7: empty list elements are ignored.
        if pairs > 0 {
            if hops.len() == MAX_HOPS {
                return Err(());
            }
            hops.push(hop);
        }
        if at >= bytes.len() {
            return Ok(());
        }
        at += 1;
    }
}

/// The RFC 7230 §3.2.6 quoted string starting at `at` (on its opening quote), unescaped;
/// `at` ends past the closing quote.
fn quoted_string(line: &str, at: &mut usize) -> Result<String, ()> {
    let mut value = String::new();
    let mut chars = line[*at + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => {
                *at += 1 + offset + 1;
                return Ok(value);
            }
            '\\' => value.push(chars.next().ok_or(())?.1),
            c => value.push(c),
        }
    }
    Err(())
}

/// An RFC 7239 §6 node (`192.0.2.43`, `"[2001:db8::17]:4711"`, `unknown`, `_hidden`), or an
/// `X-Forwarded-For` element (`192.0.2.43`, `192.0.2.43:4711`, `2001:db8::17`).
fn node(text: &str) -> Node {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Node::Ip(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Node::Ip(socket.ip().to_canonical());
    }
    if let Some(ip) = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
    {
        return Node::Ip(ip.to_canonical());
    }
    // IPv4 with an obfuscated port (RFC 7239 §6.3: `192.0.2.43:_abc`).
    if let Some(ip) = text
        .split_once(':')
        .and_then(|(host, _)| host.parse::<IpAddr>().ok())
    {
        return Node::Ip(ip.to_canonical());
    }
    let mut name = text.to_owned();
    if name.len() > MAX_CLIENT_NAME {
        let mut end = MAX_CLIENT_NAME;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    Node::Named(name)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(fields: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn config(trusted: &[&str]) -> ServerConfig {
        ServerConfig {
            trusted_proxies: trusted.iter().map(|net| net.parse().unwrap()).collect(),
            ..ServerConfig::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn client(fields: &[(&str, &str)], peer: &str, trusted: &[&str]) -> Option<Node> {
        resolve(&headers(fields), Some(ip(peer)), &config(trusted)).client
    }

    fn at(text: &str) -> Option<Node> {
        Some(Node::Ip(ip(text)))
    }

    #[test]
    fn without_trusted_proxies_forwarding_headers_are_never_read() {
        let spoofed = [
            ("x-forwarded-for", "198.51.100.1"),
            (
                "forwarded",
                "for=198.51.100.2;host=evil.example;proto=https",
            ),
            ("x-forwarded-host", "evil.example"),
        ];
        let origin = resolve(&headers(&spoofed), Some(ip("192.0.2.9")), &config(&[]));
        assert_eq!(
            origin,
            Origin {
                client: at("192.0.2.9"),
                host: None,
                proto: None
            }
        );
        // Nor from a peer that is not one of the trusted proxies.
        assert_eq!(
            client(&spoofed, "192.0.2.9", &["10.0.0.0/8"]),
            at("192.0.2.9")
        );
        assert_eq!(
            resolve(&headers(&spoofed), None, &config(&["10.0.0.0/8"])).client,
            None
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8", "2001:db8:ffff::/48"];
        // The client wrote the first entry; the proxy appended what it saw.
        let xff = [("x-forwarded-for", "198.51.100.1, 203.0.113.7")];
        assert_eq!(client(&xff, "10.0.0.2", &trusted), at("203.0.113.7"));
        // Two proxies, the inner one trusted too.
        let two = [("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.1.1.1")];
        assert_eq!(client(&two, "10.0.0.2", &trusted), at("203.0.113.7"));
        // Lines are one list, in order.
        let lines = [
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7:5123"),
        ];
        assert_eq!(client(&lines, "10.0.0.2", &trusted), at("203.0.113.7"));
        let forwarded = [(
            "forwarded",
            r#"for=198.51.100.1, for="[2001:db8::17]:4711";proto=https, for=10.9.9.9"#,
        )];
        assert_eq!(
            client(&forwarded, "2001:db8:ffff::2", &trusted),
            at("2001:db8::17")
        );
        // A peer on an IPv4-mapped address is its IPv4 address.
        assert_eq!(client(&xff, "::ffff:10.0.0.2", &trusted), at("203.0.113.7"));
        // All trusted: a proxy's own request.
        let own = [("x-forwarded-for", "10.3.3.3, 10.1.1.1")];
        assert_eq!(client(&own, "10.0.0.2", &trusted), at("10.3.3.3"));
        // No header: the proxy itself.
        assert_eq!(client(&[], "10.0.0.2", &trusted), at("10.0.0.2"));
    }

    #[test]
    fn names_are_clients_too() {
        let trusted = ["10.0.0.0/8"];
        let obfuscated = [("forwarded", "for=_hidden, for=_SEVKISEK")];
        assert_eq!(
            client(&obfuscated, "10.0.0.2", &trusted),
            Some(Node::Named("_SEVKISEK".into()))
        );
        let unknown = [("x-forwarded-for", "unknown")];
        assert_eq!(
            client(&unknown, "10.0.0.2", &trusted),
            Some(Node::Named("unknown".into()))
        );
        let no_for = [("forwarded", "proto=https")];
        assert_eq!(
            client(&no_for, "10.0.0.2", &trusted),
            Some(Node::Named("unknown".into()))
        );
        let long = "x".repeat(100);
        match client(&[("x-forwarded-for", &long)], "10.0.0.2", &trusted) {
            Some(Node::Named(name)) => assert_eq!(name.len(), MAX_CLIENT_NAME),
            other => panic!("{other:?}"),
        }
        match node(&"é".repeat(100)) {
            Node::Named(name) => assert!(name.len() <= MAX_CLIENT_NAME),
            other => panic!("{other:?}"),
        }
        // A value that is not visible ASCII is not a chain at all.
        let raw = HeaderValue::from_bytes(b"203.0.113.7\xff").unwrap();
        let mut fields = HeaderMap::new();
        fields.append(X_FORWARDED_FOR, raw);
        let origin = resolve(&fields, Some(ip("10.0.0.2")), &config(&trusted));
        assert_eq!(origin.client, at("10.0.0.2"));
    }

    #[test]
    fn nodes_parse_in_every_written_form() {
        for (text, expected) in [
            ("192.0.2.43", "192.0.2.43"),
            ("192.0.2.43:47011", "192.0.2.43"),
            ("192.0.2.43:_port", "192.0.2.43"),
            ("[2001:db8:cafe::17]", "2001:db8:cafe::17"),
            ("[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"),
            ("2001:db8:cafe::17", "2001:db8:cafe::17"),
            ("::ffff:192.0.2.43", "192.0.2.43"),
        ] {
            assert_eq!(node(text), Node::Ip(ip(expected)), "{text}");
        }
    }

    #[test]
    fn a_chain_that_does_not_parse_is_not_believed() {
        let trusted = ["10.0.0.0/8"];
        // An open quote from the client would swallow what the proxy appended.
        for value in [
            r#"for="198.51.100.1, for=203.0.113.7"#,
            "for=198.51.100.1;for=198.51.100.2, for=203.0.113.7",
            "for 203.0.113.7",
            "for=, for=203.0.113.7",
            "for=[2001:db8::1], for=203.0.113.7",
            "for=203.0.113.7 x",
        ] {
            let fields = [("forwarded", value)];
            assert_eq!(
                client(&fields, "10.0.0.2", &trusted),
                at("10.0.0.2"),
                "{value}"
            );
        }
        let many = vec!["198.51.100.1"; MAX_HOPS + 1].join(",");
        let fields = [("x-forwarded-for", many.as_str())];
        assert_eq!(client(&fields, "10.0.0.2", &trusted), at("10.0.0.2"));
    }

    #[test]
    fn forwarded_syntax_is_read_as_rfc_7239_writes_it() {
        let mut hops = Vec::new();
        parse_forwarded(
            r#"for=192.0.2.60;proto=http;by=203.0.113.43, , For="[2001:db8::1]";HOST="a\"b""#,
            &mut hops,
        )
        .unwrap();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].node, at("192.0.2.60"));
        assert_eq!(hops[0].proto.as_deref(), Some("http"));
        assert_eq!(hops[1].node, at("2001:db8::1"));
        assert_eq!(hops[1].host.as_deref(), Some("a\"b"));
    }

    #[test]
    fn both_families_must_agree() {
        let trusted = ["10.0.0.0/8"];
        // A proxy that writes X-Forwarded-For passes a client's Forwarded through untouched.
        let injected = [
            ("forwarded", "for=198.51.100.66"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&injected, "10.0.0.2", &trusted), at("10.0.0.2"));
        let agreeing = [
            ("forwarded", "for=203.0.113.7;proto=https"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&agreeing, "10.0.0.2", &trusted), at("203.0.113.7"));
        let broken = [
            ("forwarded", "for=\"open"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&broken, "10.0.0.2", &trusted), at("10.0.0.2"));
    }

    #[test]
    fn host_and_scheme_come_with_the_chosen_hop() {
        let trusted = ["10.0.0.0/8"];
        let origin = |fields: &[(&str, &str)]| {
            resolve(&headers(fields), Some(ip("10.0.0.2")), &config(&trusted))
        };
        let forwarded = origin(&[(
            "forwarded",
            "for=198.51.100.1;host=evil.example;proto=http, for=203.0.113.7;host=scim.example.com;proto=https",
        )]);
        assert_eq!(forwarded.host.as_deref(), Some("scim.example.com"));
        assert_eq!(forwarded.proto.as_deref(), Some("https"));
        let x_forwarded = origin(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-host", "evil.example, scim.example.com"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(x_forwarded.host.as_deref(), Some("scim.example.com"));
        assert_eq!(x_forwarded.proto.as_deref(), Some("https"));
        // From an untrusted peer, nothing.
        let untrusted = resolve(
            &headers(&[
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-proto", "https"),
            ]),
            Some(ip("192.0.2.1")),
            &config(&trusted),
        );
        assert_eq!((untrusted.host, untrusted.proto), (None, None));
    }
}
