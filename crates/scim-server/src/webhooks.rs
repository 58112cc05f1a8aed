//! Signed webhooks, delivered from the outbox.
//!
//! Each event goes to each webhook of its organisation that takes its kind, one message per
//! event, in seq order, signed as the Standard Webhooks specification says: headers
//! `webhook-id` (`evt_<org>_<seq>`, the same on every retry, so receivers can de-duplicate),
//! `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature` (`v1,` and the
//! base64 HMAC-SHA256 of `id.timestamp.body` under the secret's bytes; two signatures, space
//! separated, while a rotated-out secret is in its grace period).
//!
//! The worker ([`crate::ScimState::start_background_tasks`] starts it) claims webhooks with a
//! lease (`scim_store::webhooks::claim`), sends what each has not acknowledged, and moves its
//! `delivered_seq` on after each 2xx. A failure (any other status, a timeout, a refused
//! connection) stops that webhook's delivery until its next attempt, after an exponential
//! backoff with jitter; after [`WebhookConfig::max_failures`] failures in a row it is paused
//! until resumed. Nothing is ever skipped, so delivery is at least once: a crash between the
//! receiver's 2xx and the acknowledgement sends that event again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use scim_store::events::{self, EventKind, EventRecord};
use scim_store::webhooks::{self as stored, NewWebhook, WebhookRecord};
use scim_store::{DbConnection, OrgId, StoreError};
use serde_json::json;
use sha2::Sha256;

use crate::ScimState;

/// How long a rotated-out secret keeps signing beside the new one.
pub const SECRET_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// The prefix of a signing secret, as Standard Webhooks writes them.
pub const SECRET_PREFIX: &str = "whsec_";

/// Most webhooks one organisation may have: each is a delivery of every event.
pub const MAX_WEBHOOKS_PER_ORG: usize = 16;

/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// How a server delivers webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Whether this process runs a delivery worker. Default: true. Replicas on one PostgreSQL
    /// share the work; on SQLite run one process.
    pub enabled: bool,
    /// Failed attempts in a row after which a webhook is paused. Default: 15 (about 5 hours
    /// of retries with the default backoff).
    pub max_failures: u32,
    /// How long one attempt may take, connection included. Default: 10 s.
    pub timeout: Duration,
    /// The first retry's delay; each further failure doubles it, up to `max_backoff`.
    /// Default: 1 s.
    pub initial_backoff: Duration,
    /// The longest delay between retries. Default: 1 hour.
    pub max_backoff: Duration,
    /// How often the worker looks for work when no write of this process woke it.
    /// Default: 1 s.
    pub poll_interval: Duration,
    /// How long a worker's claim on a webhook lasts: if it dies mid-delivery, another worker
    /// takes the webhook over after this and sends what was not acknowledged. Default: 60 s.
    pub lease: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            enabled: true,
            max_failures: 15,
            timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60 * 60),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
        }
    }
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
///
/// # Errors
/// When the system's random source fails.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{SECRET_PREFIX}{}", BASE64.encode(bytes)))
}

/// The `webhook-signature` value for a message: one `v1,<base64>` per secret, space
/// separated. A secret that is not `whsec_` and base64 is used as raw bytes.
pub fn sign(secrets: &[&str], id: &str, timestamp: u64, body: &str) -> String {
    secrets
        .iter()
        .map(|secret| {
            let key = secret
                .strip_prefix(SECRET_PREFIX)
                .and_then(|encoded| BASE64.decode(encoded).ok())
                .unwrap_or_else(|| secret.as_bytes().to_vec());
            // HMAC takes a key of any length.
            let mut mac = match Hmac::<Sha256>::new_from_slice(&key) {
                Ok(mac) => mac,
                Err(_) => return String::new(),
            };
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Event kinds by name (`deactivated`, `member_added`, …).
///
/// # Errors
/// The message naming an unknown kind.
pub fn parse_kinds(names: &[String]) -> Result<Vec<EventKind>, String> {
    if names.is_empty() {
        return Err("events must name at least one kind (leave it out for all)".into());
    }
    names
        .iter()
        .map(|name| {
            name.trim().parse().map_err(|_| {
                format!(
                    "unknown event kind {name:?}: use created, updated, deactivated, \
                     reactivated, deleted, member_added or member_removed"
                )
            })
        })
        .collect()
}

/// Why [`add`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Refused: the URL is not an absolute http(s) URL, or the organisation has
    /// [`MAX_WEBHOOKS_PER_ORG`] webhooks already.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
}

/// A webhook just added, with its secret: shown once.
#[derive(Debug)]
pub struct Added {
    /// The stored webhook.
    pub webhook: WebhookRecord,
    /// Its signing secret.
    pub secret: String,
}

/// Adds a webhook to `org` posting to `url` the events of `kinds` (all when `None`), from the
/// next event on; the CLI and the admin API both call this.
///
/// # Errors
/// [`AddError::Refused`] for a URL that is not absolute `http(s)://host…`.
pub fn add(
    conn: &mut DbConnection,
    org: OrgId,
    url: &str,
    kinds: Option<Vec<EventKind>>,
) -> Result<Added, AddError> {
    check_url(url).map_err(AddError::Refused)?;
    if stored::list(conn, org)?.len() >= MAX_WEBHOOKS_PER_ORG {
        return Err(AddError::Refused(format!(
            "an organisation has at most {MAX_WEBHOOKS_PER_ORG} webhooks; remove one first"
        )));
    }
    let secret = new_secret().map_err(|_| AddError::Random)?;
    let id = format!("wh_{}", uuid::Uuid::new_v4().simple());
    let webhook = stored::create(
        conn,
        org,
        &NewWebhook {
            id,
            url: url.to_owned(),
            kinds,
            secret: secret.clone(),
        },
    )?;
    Ok(Added { webhook, secret })
}

fn check_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("the URL is longer than {MAX_URL_LEN} bytes"));
    }
    let parsed: actix_web::http::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    match parsed.scheme_str() {
        Some("https") if !cfg!(feature = "webhook-tls") => Err(format!(
            "{url:?}: this build delivers webhooks over plain http:// only (scim-server was \
             built without its `webhook-tls` feature)"
        )),
        Some("http" | "https") if parsed.host().is_some_and(|host| !host.is_empty()) => Ok(()),
        _ => Err(format!(
            "{url:?} is not an absolute http:// or https:// URL"
        )),
    }
}

/// The body of the message for `event`.
fn message(event: &EventRecord) -> String {
    json!({
        "type": format!(
            "{}.{}",
            event.resource_type.as_str().to_ascii_lowercase(),
            event.kind.as_str()
        ),
        "timestamp": scim_model::value::format_date_time(&event.occurred_at.into()),
        "data": crate::admin::event_json(event),
    })
    .to_string()
}

/// The delay before the attempt after `failures` failures in a row: doubling from
/// `initial_backoff` up to `max_backoff`, less up to a fifth at random so that webhooks that
/// failed together do not retry together.
fn backoff(config: &WebhookConfig, failures: u32) -> Duration {
    let doubled = config
        .initial_backoff
        .saturating_mul(2u32.saturating_pow(failures.min(30)));
    let delay = doubled.min(config.max_backoff);
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => delay.mul_f64(f64::from(byte[0]) / 255.0 / 5.0),
        Err(_) => Duration::ZERO,
    };
    delay.saturating_sub(jitter)
}

/// Webhooks one worker delivers to at once.
const CLAIM_LIMIT: i64 = 16;

/// Events read per statement while delivering.
const READ_BATCH: i64 = 100;

/// Runs the delivery worker until the runtime stops: claims due webhooks and delivers their
/// events. Started by the service's background tasks when [`WebhookConfig::enabled`].
pub(crate) async fn run(state: ScimState) {
    let config = state.config().webhooks;
    let owner = match new_secret() {
        Ok(secret) => format!(
            "worker-{}",
            &secret[SECRET_PREFIX.len()..SECRET_PREFIX.len() + 16]
        ),
        Err(error) => {
            tracing::error!(%error, "webhook worker cannot name itself; not delivering");
            return;
        }
    };
    let client = awc::Client::builder()
        .timeout(config.timeout)
        .disable_redirects()
        .finish();
    // Deliveries run side by side, so one slow receiver delays only its own webhook.
    let in_flight = std::rc::Rc::new(std::cell::Cell::new(0_i64));
    loop {
        let signal = state.webhook_signal();
        let woken = signal.notified();
        let mut woken = std::pin::pin!(woken);
        woken.as_mut().enable();
        let room = CLAIM_LIMIT - in_flight.get();
        if room > 0 {
            let claim_owner = owner.clone();
            let claimed = state
                .service_conn(move |conn| {
                    Ok(stored::claim(conn, &claim_owner, config.lease, room)?)
                })
                .await;
            match claimed {
                Ok(webhooks) => {
                    for webhook in webhooks {
                        in_flight.set(in_flight.get() + 1);
                        let (state, client, owner) = (state.clone(), client.clone(), owner.clone());
                        let done = in_flight.clone();
                        let wake = state.webhook_signal();
                        actix_web::rt::spawn(async move {
                            deliver(&state, &client, &owner, webhook).await;
                            done.set(done.get() - 1);
                            // There may be more for it, or room for another.
                            wake.notify_one();
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "could not claim webhooks"),
            }
        }
        let _ = actix_web::rt::time::timeout(config.poll_interval, woken).await;
    }
}

/// Delivers `webhook`'s pending events in order until they run out, one fails, or the lease
/// nears its end; then gives the lease back.
async fn deliver(state: &ScimState, client: &awc::Client, owner: &str, mut webhook: WebhookRecord) {
    // Stops sending with a quarter of the lease left, so it never sends on a lapsed claim.
    let lease = state.config().webhooks.lease;
    let lease_end = Instant::now() + lease;
    let outcome = deliver_until(state, client, owner, &mut webhook, lease_end).await;
    if let Err(error) = outcome {
        tracing::warn!(webhook = %webhook.id, org = webhook.org.0, %error, "webhook delivery stopped");
    }
    let (release, owner) = (webhook.clone(), owner.to_owned());
    if let Err(error) = state
        .service_conn(move |conn| Ok(stored::release(conn, &release, &owner)?))
        .await
    {
        tracing::warn!(webhook = %webhook.id, %error, "could not release a webhook lease");
    }
}

async fn deliver_until(
    state: &ScimState,
    client: &awc::Client,
    owner: &str,
    webhook: &mut WebhookRecord,
    lease_end: Instant,
) -> Result<(), crate::ApiError> {
    let config = state.config().webhooks;
    // No new attempt in the last quarter of the lease, and none that could outlast it: once
    // the lease lapses another worker may send, and two senders could reorder events.
    let stop_by = lease_end - config.lease / 4;
    let margin = config.lease / 8;
    while Instant::now() < stop_by {
        let (org, after) = (webhook.org, webhook.delivered_seq);
        let batch = state
            .service_conn(move |conn| Ok(events::list_after(conn, org, after, READ_BATCH)?))
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut skipped = None;
        for event in &batch {
            if !webhook.wants(event.kind) {
                skipped = Some(event.seq);
                continue;
            }
            if let Some(seq) = skipped.take() {
                if !acknowledge(state, webhook, owner, seq, false).await? {
                    return Ok(());
                }
            }
            let budget = lease_end
                .saturating_duration_since(Instant::now())
                .saturating_sub(margin)
                .min(config.timeout);
            if budget.is_zero() {
                return Ok(());
            }
            match post(client, webhook, event, budget).await {
                Ok(()) => {
                    metrics::counter!("scim_webhook_deliveries_total", "outcome" => "delivered")
                        .increment(1);
                    let lag = SystemTime::now()
                        .duration_since(event.occurred_at)
                        .unwrap_or_default();
                    metrics::histogram!("scim_webhook_delivery_lag_seconds")
                        .record(lag.as_secs_f64());
                    if !acknowledge(state, webhook, owner, event.seq, true).await? {
                        return Ok(());
                    }
                }
                Err(error) => {
                    metrics::counter!("scim_webhook_deliveries_total", "outcome" => "failed")
                        .increment(1);
                    let failures = u32::try_from(webhook.failures).unwrap_or(u32::MAX);
                    let pause = failures.saturating_add(1) >= config.max_failures;
                    let retry_at = SystemTime::now() + backoff(&config, failures);
                    if pause {
                        tracing::warn!(
                            webhook = %webhook.id, org = webhook.org.0, seq = event.seq, %error,
                            "webhook paused after {} failures in a row; resume it once the \
                             receiver is fixed", config.max_failures
                        );
                    } else {
                        tracing::info!(
                            webhook = %webhook.id, org = webhook.org.0, seq = event.seq, %error,
                            "webhook delivery failed; retrying later"
                        );
                    }
                    let (failed, owner) = (webhook.clone(), owner.to_owned());
                    state
                        .service_conn(move |conn| {
                            Ok(stored::fail(
                                conn, &failed, &owner, &error, retry_at, pause,
                            )?)
                        })
                        .await?;
                    return Ok(());
                }
            }
            if Instant::now() >= stop_by {
                return Ok(());
            }
        }
        if let Some(seq) = skipped {
            if !acknowledge(state, webhook, owner, seq, false).await? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Moves `webhook` on to `seq`; false when the lease was lost (another worker has it now).
async fn acknowledge(
    state: &ScimState,
    webhook: &mut WebhookRecord,
    owner: &str,
    seq: i64,
    delivered: bool,
) -> Result<bool, crate::ApiError> {
    let (acked, owner) = (webhook.clone(), owner.to_owned());
    let held = state
        .service_conn(move |conn| Ok(stored::acknowledge(conn, &acked, &owner, seq, delivered)?))
        .await?;
    if held {
        webhook.delivered_seq = seq;
        webhook.failures = 0;
    }
    Ok(held)
}

/// Posts `event` to `webhook`; a 2xx is success, anything else an error for `last_error`.
async fn post(
    client: &awc::Client,
    webhook: &WebhookRecord,
    event: &EventRecord,
    timeout: Duration,
) -> Result<(), String> {
    let body = message(event);
    let id = format!("evt_{}_{}", event.org.0, event.seq);
    let now = SystemTime::now();
    let timestamp = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let signature = sign(&webhook.signing_secrets(now), &id, timestamp, &body);
    let response = client
        .post(webhook.url.as_str())
        .insert_header(("content-type", "application/json"))
        .insert_header(("webhook-id", id.as_str()))
        .insert_header(("webhook-timestamp", timestamp.to_string()))
        .insert_header(("webhook-signature", signature))
        .timeout(timeout)
        .send_body(body)
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("receiver answered HTTP {}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification's reference implementations.
    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_secrets_give_two_signatures() {
        let signature = sign(&["whsec_AAAA", "whsec_BBBB"], "id", 1, "{}");
        assert_eq!(signature.split(' ').count(), 2);
        assert!(signature.split(' ').all(|part| part.starts_with("v1,")));
    }

    #[test]
    fn secrets_are_prefixed_base64_of_32_bytes() {
        let secret = new_secret().unwrap();
        let bytes = BASE64.decode(&secret[SECRET_PREFIX.len()..]).unwrap();
        assert_eq!(bytes.len(), 32);
    }

    #[test]
    fn only_absolute_http_urls_are_taken() {
        assert_eq!(
            check_url("https://hooks.example.com/scim").is_ok(),
            cfg!(feature = "webhook-tls")
        );
        assert!(check_url("http://127.0.0.1:9000/x?y=1").is_ok());
        for bad in [
            "ftp://x/",
            "/relative",
            "https://",
            "not a url",
            "mailto:a@b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://x/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_at_most_a_fifth_off() {
        let config = WebhookConfig::default();
        for (failures, full) in [(0, 1), (1, 2), (3, 8), (20, 3600), (40, 3600)] {
            let delay = backoff(&config, failures);
            let full = Duration::from_secs(full);
            assert!(
                delay <= full && delay >= full.mul_f64(0.8),
                "{failures}: {delay:?}"
            );
        }
    }

    #[test]
    fn kinds_parse_by_name() {
        let kinds = parse_kinds(&["deactivated".into(), " member_added".into()]).unwrap();
        assert_eq!(kinds, [EventKind::Deactivated, EventKind::MemberAdded]);
        assert!(parse_kinds(&["nope".into()]).is_err());
        assert!(parse_kinds(&[]).is_err());
    }
}
