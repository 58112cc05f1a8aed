//! RFC 9865 cursors: the store's keyset [`Position`] sealed into an opaque, tamper-evident,
//! expiring string bound to one organisation and one query.
//!
//! A cursor is `base64url(payload ‖ HMAC-SHA256(key, payload))`, unpadded, so it holds only
//! RFC 3986 unreserved characters as RFC 9865 §2 requires. The payload is JSON: the
//! organisation, a digest of the query (endpoint, filter, sortBy, sortOrder), the time it was
//! issued, and where the walk stands (which endpoint, for a root search, and the position in
//! it). Nothing is kept on the server per cursor, so cursors cost no memory however many are
//! open (RFC 9865 §5's availability concern) and work on every replica.
//!
//! The key is the organisation's own, generated once and stored in its `organizations` row
//! ([`scim_store::paging::signing_key`]); every replica reads the same one and it survives
//! restarts. A cursor of another organisation fails the MAC, as does any changed byte.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use scim_model::error::ScimError;
use scim_model::message::{SearchRequest, SortOrder};
use scim_store::paging::Position;
use scim_store::OrgId;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// The longest cursor accepted, in characters. A cursor carries the last sort key value, so a
/// sort by a very long string makes a long cursor; 24 KiB covers the longest string a resource
/// may hold (16 KiB by default, base64 adds a third) and stays within common URL limits of
/// proxies configured for large query strings. Anything longer is refused unread.
pub(crate) const MAX_CURSOR_CHARS: usize = 24 * 1024;

const MAC_BYTES: usize = 32;

/// A signing key of one organisation.
#[derive(Clone)]
pub(crate) struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// The key stored as `hex`; `None` when it is not the hex of at least 32 bytes.
    pub(crate) fn from_hex(hex: &str) -> Option<CursorKey> {
        if hex.len() < 2 * MAC_BYTES || !hex.len().is_multiple_of(2) {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(CursorKey(bytes))
    }

    /// A new random key, as hex, for an organisation that has none.
    pub(crate) fn fresh_hex() -> Result<String, ApiError> {
        let mut bytes = [0_u8; MAC_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| ScimError::internal(format!("no randomness for a cursor key: {e}")))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; the error type exists for other MACs.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

/// Every organisation's key once read, so a page costs no key lookup after the first.
#[derive(Debug, Default)]
pub(crate) struct KeyCache(Mutex<HashMap<OrgId, CursorKey>>);

impl KeyCache {
    pub(crate) fn get(&self, org: OrgId) -> Option<CursorKey> {
        self.0.lock().ok()?.get(&org).cloned()
    }

    pub(crate) fn put(&self, org: OrgId, key: CursorKey) {
        if let Ok(mut keys) = self.0.lock() {
            keys.insert(org, key);
        }
    }
}

/// What a cursor is bound to besides its organisation: the endpoint and every parameter that
/// changes the result set or its order. `attributes`, `excludedAttributes` and `count` are not
/// in it: they change what a page shows, not which resources come in which order.
pub(crate) fn query_digest(scope: &str, search: &SearchRequest) -> String {
    let sort_order = search.sort_order.unwrap_or_default();
    let described = json!([
        scope,
        search.filter.as_deref().map(str::trim).unwrap_or(""),
        search.sort_by.as_deref().unwrap_or(""),
        // Without sortBy the order is the default whatever sortOrder says.
        if search.sort_by.is_some() {
            sort_order.as_str()
        } else {
            SortOrder::Ascending.as_str()
        },
    ]);
    let digest = Sha256::digest(described.to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Where a walk stands: the index of the endpoint it is in (0 outside a root search) and the
/// position in it, `None` at the endpoint's start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub(crate) endpoint: usize,
    pub(crate) position: Option<Position>,
}

/// Seals `mark` into a cursor of `org` for the query `digest`.
pub(crate) fn seal(key: &CursorKey, org: OrgId, digest: &str, mark: &Mark) -> String {
    let issued = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let payload = json!({
        "o": org.0,
        "q": digest,
        "t": issued,
        "e": mark.endpoint,
        "p": mark.position.as_ref().map_or(Value::Null, Position::to_json),
    })
    .to_string();
    let mut mac = key.mac();
    mac.update(payload.as_bytes());
    let mut bytes = payload.into_bytes();
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The mark `cursor` carries, if it is one this server sealed for `org` and the query `digest`
/// less than `timeout` ago; an empty cursor is the start of the walk (RFC 9865 §2).
///
/// # Errors
/// 400 `invalidCursor` for anything not sealed by this server for this organisation and query
/// (RFC 9865 §2.1), the same answer whatever the reason, so that it tells nothing about other
/// organisations' data (RFC 9865 §5); 400 `expiredCursor` for a genuine one older than
/// `timeout`.
pub(crate) fn open(
    key: &CursorKey,
    org: OrgId,
    digest: &str,
    cursor: &str,
    timeout: Duration,
) -> Result<Mark, ApiError> {
    if cursor.is_empty() {
        return Ok(Mark {
            endpoint: 0,
            position: None,
        });
    }
    let invalid = || {
        ApiError::from(ScimError::invalid_cursor(
            "the cursor is not a nextCursor of this query; start again with an empty cursor",
        ))
    };
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let Some(split) = bytes.len().checked_sub(MAC_BYTES) else {
        return Err(invalid());
    };
    let (payload, tag) = bytes.split_at(split);
    let mut mac = key.mac();
    mac.update(payload);
    // Constant-time comparison: the MAC is checked before anything in the payload is read.
    mac.verify_slice(tag).map_err(|_| invalid())?;
    let payload: Value = serde_json::from_slice(payload).map_err(|_| invalid())?;
    if payload.get("o").and_then(Value::as_i64) != Some(org.0)
        || payload.get("q").and_then(Value::as_str) != Some(digest)
    {
        return Err(invalid());
    }
    let issued = payload
        .get("t")
        .and_then(Value::as_u64)
        .ok_or_else(invalid)?;
    let endpoint = payload
        .get("e")
        .and_then(Value::as_u64)
        .and_then(|e| usize::try_from(e).ok())
        .ok_or_else(invalid)?;
    let position = match payload.get("p") {
        Some(Value::Null) => None,
        Some(value) => Some(Position::from_json(value).ok_or_else(invalid)?),
        None => return Err(invalid()),
    };
    let age = SystemTime::now()
        .duration_since(UNIX_EPOCH + Duration::from_millis(issued))
        .unwrap_or(Duration::ZERO);
    if age > timeout {
        return Err(ScimError::expired_cursor(format!(
            "the cursor is older than the cursorTimeout of {} s; start again with an empty cursor",
            timeout.as_secs()
        ))
        .into());
    }
    Ok(Mark { endpoint, position })
}
