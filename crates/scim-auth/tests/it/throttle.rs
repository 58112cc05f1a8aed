//! Slowing down clients that keep failing.
//!
//! RFC 7644 §7.4: tokens must resist "a random guessing attack"; refusing a client that keeps
//! guessing, without touching the store or hashing, keeps guessing slow and cheap to refuse.
//! RFC 7644 §3.12 has no status for it; the server answers 429 with `Retry-After`.

use std::time::Duration;

use scim_auth::{AuthError, VerifierConfig};

use crate::support::{test_config, unknown_token, with_wrong_secret, Harness};

fn config() -> VerifierConfig {
    VerifierConfig {
        failures_before_throttle: 3,
        failure_window: Duration::from_secs(60),
        initial_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(10),
        ..test_config()
    }
}

fn retry_after(result: Result<scim_auth::AuthContext, AuthError>) -> Duration {
    match result {
        Err(AuthError::Throttled { retry_after }) => retry_after,
        other => panic!("expected throttled, got {other:?}"),
    }
}

#[test]
fn throttling_engages_after_n_failures_and_releases_after_the_delay() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    for _ in 0..3 {
        assert_eq!(
            h.verifier.verify(&unknown_token(), "attacker"),
            Err(AuthError::Unknown)
        );
    }
    let calls = h.source.calls();
    let hashes = h.verifier.stats().hashes;

    // Refused without a lookup or a hash, whatever is presented, even a good token that is
    // not in the verified cache.
    assert_eq!(
        retry_after(h.verifier.verify(&unknown_token(), "attacker")),
        Duration::from_secs(2)
    );
    retry_after(h.verifier.verify(&with_wrong_secret(&token), "attacker"));
    retry_after(h.verifier.verify(&token, "attacker"));
    retry_after(h.verifier.verify("garbage", "attacker"));
    assert_eq!(h.source.calls(), calls);
    assert_eq!(h.verifier.stats().hashes, hashes);
    assert_eq!(h.verifier.stats().throttled, 4);

    // Other clients are not affected.
    assert!(h.verifier.verify(&token, "someone else").is_ok());

    h.advance(Duration::from_secs(1));
    assert_eq!(
        retry_after(h.verifier.verify(&unknown_token(), "attacker")),
        Duration::from_secs(1)
    );
    h.advance(Duration::from_secs(1));
    assert!(h.verifier.verify(&token, "attacker").is_ok());
}

#[test]
fn the_delay_grows_with_each_further_failure_up_to_the_cap() {
    let h = Harness::new(config());
    for _ in 0..3 {
        let _ = h.verifier.verify(&unknown_token(), "attacker");
    }
    let mut delays = Vec::new();
    for _ in 0..5 {
        let delay = retry_after(h.verifier.verify(&unknown_token(), "attacker"));
        delays.push(delay);
        h.advance(delay);
        // One more failure once released.
        assert_eq!(
            h.verifier.verify(&unknown_token(), "attacker"),
            Err(AuthError::Unknown)
        );
    }
    assert_eq!(delays, [2, 4, 8, 10, 10].map(Duration::from_secs).to_vec());
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let h = Harness::new(config());
    for _ in 0..10 {
        assert_eq!(
            h.verifier.verify(&unknown_token(), "slow client"),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            h.verifier.verify(&unknown_token(), "slow client"),
            Err(AuthError::Unknown)
        );
        h.advance(Duration::from_secs(61));
    }
}

#[test]
fn the_record_is_forgotten_after_a_quiet_window() {
    let h = Harness::new(config());
    for _ in 0..3 {
        let _ = h.verifier.verify(&unknown_token(), "client");
    }
    let delay = retry_after(h.verifier.verify(&unknown_token(), "client"));
    h.advance(delay + Duration::from_secs(60));
    // Quiet for a whole window after the refusal ended: the count starts again.
    for _ in 0..2 {
        assert_eq!(
            h.verifier.verify(&unknown_token(), "client"),
            Err(AuthError::Unknown)
        );
    }
    assert_eq!(
        h.verifier.verify(&unknown_token(), "client"),
        Err(AuthError::Unknown)
    );
    assert_eq!(
        retry_after(h.verifier.verify(&unknown_token(), "client")),
        Duration::from_secs(2)
    );
}

#[test]
fn malformed_and_negatively_cached_tokens_count_as_failures() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    let bad = with_wrong_secret(&token);
    assert_eq!(h.verifier.verify(&bad, "c"), Err(AuthError::Invalid));
    assert_eq!(h.verifier.verify(&bad, "c"), Err(AuthError::Invalid));
    assert!(matches!(
        h.verifier.verify("scim_nope", "c"),
        Err(AuthError::Malformed(_))
    ));
    retry_after(h.verifier.verify(&bad, "c"));
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn source_errors_and_missing_credentials_do_not_count() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    h.source
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..10 {
        assert!(matches!(
            h.verifier.verify(&token, "c"),
            Err(AuthError::Source(_))
        ));
        assert_eq!(h.verifier.verify("", "c"), Err(AuthError::Missing));
    }
    h.source
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(h.verifier.verify(&token, "c").is_ok());
}

#[test]
fn a_cached_good_token_still_passes_for_a_throttled_client() {
    // A good client behind the same address as a bad one keeps working once verified: the
    // hit costs nothing and proves the secret.
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    h.verifier.verify(&token, "shared nat").unwrap();
    for _ in 0..3 {
        let _ = h.verifier.verify(&unknown_token(), "shared nat");
    }
    retry_after(h.verifier.verify(&unknown_token(), "shared nat"));
    assert_eq!(h.verifier.verify(&token, "shared nat").unwrap().org_id, 1);
    // But a wrong secret for that same cached id is throttled, not answered.
    retry_after(h.verifier.verify(&with_wrong_secret(&token), "shared nat"));
}

#[test]
fn client_keys_can_be_any_hashable_value() {
    use std::net::{IpAddr, Ipv4Addr};
    let h = Harness::new(config());
    let attacker = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8));
    for _ in 0..3 {
        let _ = h.verifier.verify(&unknown_token(), &attacker);
    }
    retry_after(h.verifier.verify(&unknown_token(), &attacker));
    assert_eq!(
        h.verifier.verify(&unknown_token(), &other),
        Err(AuthError::Unknown)
    );
}
