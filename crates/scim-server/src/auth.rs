//! Bearer-token authentication of every request to the service, and the [`Authenticated`]
//! extractor handlers use to learn who is calling.
//!
//! The middleware runs before routing inside the service, so every route — discovery
//! included, and unknown paths too — requires a valid token, and no body is read for a caller
//! that has none. A token is checked on the verifier's non-blocking fast path first; only on a
//! miss does the store lookup and the argon2 hash run, on a blocking thread.
//!
//! Failures are counted under the client's address: the TCP peer, or, when the peer is one of
//! [`crate::ServerConfig::trusted_proxies`], the client the proxies name (see
//! `forwarded.rs`). What is counted, and why bad tokens cannot lock out good ones, is
//! `scim_auth::Verifier`'s business.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use scim_auth::{bearer_token, AuthContext, AuthError, TokenId};
use scim_model::error::ScimError;
use scim_store::OrgId;

use crate::error::ApiError;
use crate::forwarded::{self, Node, Origin};
use crate::ScimState;

/// Who the request speaks for: the organisation whose resources it may see and the token it
/// presented. Every handler of the service takes one.
///
/// ```no_run
/// use scim_server::{ApiError, Authenticated, ScimState};
/// use actix_web::{web, HttpResponse};
///
/// async fn handler(auth: Authenticated, state: web::Data<ScimState>) -> Result<HttpResponse, ApiError> {
///     let org = auth.org; // pass it to every store call
///     # let _ = state;
///     Ok(HttpResponse::Ok().body(org.to_string()))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The organisation the token belongs to.
    pub org: OrgId,
    /// The token that was presented.
    pub token_id: TokenId,
}

impl From<AuthContext> for Authenticated {
    fn from(context: AuthContext) -> Self {
        Authenticated {
            org: OrgId(context.org_id),
            token_id: context.token_id,
        }
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Authenticated>()
                .cloned()
                .ok_or_else(|| {
                    // Only a route mounted outside the service's scope gets here: a bug.
                    ApiError::from(ScimError::internal(
                        "Authenticated extracted on a route without the authentication middleware",
                    ))
                }),
        )
    }
}

/// The middleware: authenticates, or answers 401/429/503 without calling the service.
pub(crate) async fn authenticate<B: MessageBody + 'static>(
    state: ScimState,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let admitted = match verify(&state, &req).await {
        Ok(auth) => {
            tracing::Span::current().record("org", auth.org.0);
            state.admit(auth.org).await.map(|settings| (auth, settings))
        }
        Err(error) => Err(error),
    };
    match admitted {
        Ok((auth, settings)) => {
            req.extensions_mut().insert(auth);
            req.extensions_mut().insert(settings);
            state.ensure_background_tasks();
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(error) => Ok(req.error_response(error).map_into_right_body()),
    }
}

async fn verify(state: &ScimState, req: &ServiceRequest) -> Result<Authenticated, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let token = bearer_token(header.as_deref().ok_or(AuthError::Missing)?)?;
    if let Some((org, hash)) = scim_auth::oauth::parse_access_token(token) {
        let (org, client) = crate::oauth::verify_access_token(state, org, hash).await?;
        return Ok(Authenticated {
            org,
            token_id: client,
        });
    }
    let client = client_key(&origin(state, req));
    if let Some(answer) = state.verifier().verify_cached(token, &client) {
        return Ok(answer?.into());
    }
    let verifier = state.verifier().clone();
    let token = token.to_owned();
    let context = web::block(move || verifier.verify(&token, &client)).await??;
    Ok(context.into())
}

/// The key failed authentications of `req` are counted under.
pub(crate) fn client_of(state: &ScimState, req: &ServiceRequest) -> ClientKey {
    client_key(&origin(state, req))
}

/// [`client_of`] for a request a handler holds.
pub(crate) fn client_of_request(state: &ScimState, req: &HttpRequest) -> ClientKey {
    let peer = req.peer_addr().map(|addr| addr.ip());
    client_key(&forwarded::resolve(req.headers(), peer, state.config()))
}

/// Where the request came from (see [`crate::forwarded`]), resolved once and kept in the
/// request's extensions for [`ScimState::base_url`].
fn origin(state: &ScimState, req: &ServiceRequest) -> Origin {
    if let Some(origin) = req.extensions().get::<Origin>() {
        return origin.clone();
    }
    let peer = req.peer_addr().map(|addr| addr.ip());
    let origin = forwarded::resolve(req.headers(), peer, state.config());
    req.extensions_mut().insert(origin.clone());
    origin
}

/// The key failed authentications are counted under: the client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// An IPv4 address, or an IPv6 /64 prefix (one subscriber usually holds a whole /64).
    Ip(IpAddr),
    /// A forwarded client that is not an address (e.g. an obfuscated `Forwarded: for=_hidden`
    /// a trusted proxy wrote).
    Named(String),
    /// No address known (a test request, a unix socket).
    Unknown,
}

fn client_key(origin: &Origin) -> ClientKey {
    match &origin.client {
        Some(Node::Ip(ip)) => ClientKey::Ip(prefix(*ip)),
        Some(Node::Named(name)) => ClientKey::Named(name.clone()),
        None => ClientKey::Unknown,
    }
}

/// IPv6 addresses are reduced to their /64, as `scim_auth::Verifier::verify` asks; an
/// IPv4-mapped IPv6 address is the IPv4 address it carries.
fn prefix(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(prefix(v4), v4);
        assert_eq!(prefix("::ffff:192.0.2.7".parse().unwrap()), v4);
        let v6_net: IpAddr = "2001:db8:1:2::".parse().unwrap();
        assert_eq!(prefix("2001:db8:1:2:3:4:5:6".parse().unwrap()), v6_net);
        let origin = |client| Origin {
            client,
            host: None,
            proto: None,
        };
        assert_eq!(
            client_key(&origin(Some(Node::Ip("2001:db8:1:2::9".parse().unwrap())))),
            ClientKey::Ip(v6_net)
        );
        assert_eq!(
            client_key(&origin(Some(Node::Named("_hidden".into())))),
            ClientKey::Named("_hidden".into())
        );
        assert_eq!(client_key(&origin(None)), ClientKey::Unknown);
    }
}
