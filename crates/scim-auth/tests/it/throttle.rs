//! Slowing down clients that keep failing, without letting bad tokens lock out good ones.
//!
//! RFC 7644 §7.4: tokens must resist "a random guessing attack"; refusing a client that keeps
//! guessing one token's secret, without touching the store or hashing, keeps guessing slow and
//! cheap to refuse. RFC 7644 §3.12 has no status for it; the server answers 429 with
//! `Retry-After`. RFC 6750 §3.1 gives every bad token the same `invalid_token` answer, but a
//! made-up token costs nothing to refuse and must never count against the real ones that share
//! its client's address (every identity provider behind one proxy).

use std::time::Duration;

use scim_auth::{AuthError, VerifierConfig};

use crate::support::{test_config, unknown_token, with_random_secret, with_wrong_secret, Harness};

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
            h.verifier.verify(&with_random_secret(&token), "attacker"),
            Err(AuthError::Invalid)
        );
    }
    let calls = h.source.calls();
    let hashes = h.verifier.stats().hashes;

    // That token id is refused to that client without a lookup or a hash, whatever secret
    // comes with it (this one was never proven, so it may be a guess like the others).
    assert_eq!(
        retry_after(h.verifier.verify(&with_random_secret(&token), "attacker")),
        Duration::from_secs(2)
    );
    retry_after(h.verifier.verify(&with_wrong_secret(&token), "attacker"));
    retry_after(h.verifier.verify(&token, "attacker"));
    assert_eq!(h.source.calls(), calls);
    assert_eq!(h.verifier.stats().hashes, hashes);
    assert_eq!(h.verifier.stats().throttled, 3);

    // Other clients are not affected.
    assert!(h.verifier.verify(&token, "someone else").is_ok());

    h.advance(Duration::from_secs(1));
    assert_eq!(
        retry_after(h.verifier.verify(&with_random_secret(&token), "attacker")),
        Duration::from_secs(1)
    );
    h.advance(Duration::from_secs(1));
    assert!(h.verifier.verify(&token, "attacker").is_ok());
}

// The defect this design fixes: five garbage tokens from one address, then a good token that
// was not cached, got 429 — so anyone could stop every identity provider behind a proxy.
#[test]
fn bad_tokens_never_block_a_good_one() {
    let h = Harness::new(test_config());
    let (_, good) = h.add_token(1, None);
    let (_, other) = h.add_token(2, None);
    for _ in 0..20 {
        assert!(matches!(
            h.verifier.verify("scim_garbage", "proxy"),
            Err(AuthError::Malformed(_))
        ));
        assert_eq!(
            h.verifier.verify(&unknown_token(), "proxy"),
            Err(AuthError::Unknown)
        );
    }
    // Wrong secrets for another token id throttle that id for this client...
    for _ in 0..test_config().failures_before_throttle {
        assert_eq!(
            h.verifier.verify(&with_random_secret(&other), "proxy"),
            Err(AuthError::Invalid)
        );
    }
    retry_after(h.verifier.verify(&with_random_secret(&other), "proxy"));
    // ...and nothing else: the good token, never seen before, is hashed and accepted.
    let hashes = h.verifier.stats().hashes;
    assert_eq!(h.verifier.verify(&good, "proxy").unwrap().org_id, 1);
    assert_eq!(h.verifier.stats().hashes, hashes + 1);
    // Unknown ids cost a lookup each and no hash.
    assert_eq!(
        h.verifier.stats().hashes,
        u64::from(test_config().failures_before_throttle) + 1
    );
}

#[test]
fn failures_with_one_token_id_slow_only_that_client_and_id() {
    let h = Harness::new(config());
    let (_, target) = h.add_token(1, None);
    let (_, bystander) = h.add_token(2, None);
    for _ in 0..3 {
        let _ = h.verifier.verify(&with_random_secret(&target), "c");
    }
    retry_after(h.verifier.verify(&with_random_secret(&target), "c"));
    // The same client with another token id, and another client with the same token id.
    assert_eq!(
        h.verifier.verify(&with_random_secret(&bystander), "c"),
        Err(AuthError::Invalid)
    );
    assert!(h.verifier.verify(&bystander, "c").is_ok());
    assert_eq!(
        h.verifier.verify(&with_random_secret(&target), "d"),
        Err(AuthError::Invalid)
    );
    assert!(h.verifier.verify(&target, "d").is_ok());
}

#[test]
fn a_proven_secret_passes_a_throttled_client_and_id() {
    // An identity provider behind the same address as someone guessing its token's secret
    // keeps working, also once its verified cache entry has lapsed: its secret was proven, so
    // it is re-checked against its row without a hash, past the throttle.
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    h.verifier.verify(&token, "shared nat").unwrap();
    h.advance(test_config().cache_ttl);
    for _ in 0..3 {
        let _ = h.verifier.verify(&with_random_secret(&token), "shared nat");
    }
    retry_after(h.verifier.verify(&with_random_secret(&token), "shared nat"));
    let hashes = h.verifier.stats().hashes;
    assert_eq!(h.verifier.verify(&token, "shared nat").unwrap().org_id, 1);
    assert_eq!(h.verifier.stats().hashes, hashes);
    assert_eq!(h.verifier.stats().known_good_hits, 1);
    // Now cached again: answered from memory.
    assert_eq!(h.verifier.verify(&token, "shared nat").unwrap().org_id, 1);
    // A wrong secret for that id is still throttled, not answered.
    retry_after(h.verifier.verify(&with_random_secret(&token), "shared nat"));
}

#[test]
fn hash_costing_failures_are_bounded_per_client_across_token_ids() {
    let h = Harness::new(VerifierConfig {
        failures_before_throttle: 2,
        client_hash_failures_before_throttle: 4,
        ..config()
    });
    let ids: Vec<String> = (0..4).map(|org| h.add_token(org, None).1).collect();
    let (_, proven) = h.add_token(10, None);
    let (_, unproven) = h.add_token(11, None);
    h.verifier.verify(&proven, "rotator").unwrap();
    h.advance(test_config().cache_ttl);
    let hashes = h.verifier.stats().hashes;

    // Rotating real token ids: each pair stays under its own threshold...
    for token in &ids[..2] {
        for _ in 0..2 {
            assert_eq!(
                h.verifier.verify(&with_random_secret(token), "rotator"),
                Err(AuthError::Invalid)
            );
        }
    }
    assert_eq!(h.verifier.stats().hashes, hashes + 4);
    // ...but the client has had its hashes: a new id and a new secret get no more.
    retry_after(h.verifier.verify(&with_random_secret(&ids[2]), "rotator"));
    retry_after(h.verifier.verify(&with_random_secret(&ids[3]), "rotator"));
    assert_eq!(h.verifier.stats().hashes, hashes + 4);

    // Refusals that need no hash are still answered as such.
    assert_eq!(
        h.verifier.verify(&unknown_token(), "rotator"),
        Err(AuthError::Unknown)
    );
    // A proven secret still passes, without a hash.
    assert_eq!(h.verifier.verify(&proven, "rotator").unwrap().org_id, 10);
    // A secret that would need a hash waits like the guesses do (the price of the bound); the
    // same token from another client is hashed as usual.
    retry_after(h.verifier.verify(&unproven, "rotator"));
    assert_eq!(h.verifier.verify(&unproven, "other").unwrap().org_id, 11);
    assert_eq!(h.verifier.stats().hashes, hashes + 5);
}

#[test]
fn the_delay_grows_with_each_further_failure_up_to_the_cap() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    let bad = with_wrong_secret(&token);
    for _ in 0..3 {
        let _ = h.verifier.verify(&bad, "attacker");
    }
    let mut delays = Vec::new();
    for _ in 0..5 {
        let delay = retry_after(h.verifier.verify(&bad, "attacker"));
        delays.push(delay);
        h.advance(delay);
        // One more failure once released (from the negative cache: no hash).
        assert_eq!(h.verifier.verify(&bad, "attacker"), Err(AuthError::Invalid));
    }
    assert_eq!(delays, [2, 4, 8, 10, 10].map(Duration::from_secs).to_vec());
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    for _ in 0..10 {
        for _ in 0..2 {
            assert_eq!(
                h.verifier
                    .verify(&with_random_secret(&token), "slow client"),
                Err(AuthError::Invalid)
            );
        }
        h.advance(Duration::from_secs(61));
    }
}

#[test]
fn the_record_is_forgotten_after_a_quiet_window() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    let bad = with_wrong_secret(&token);
    for _ in 0..3 {
        let _ = h.verifier.verify(&bad, "client");
    }
    let delay = retry_after(h.verifier.verify(&bad, "client"));
    h.advance(delay + Duration::from_secs(60));
    // Quiet for a whole window after the refusal ended: the count starts again.
    for _ in 0..3 {
        assert_eq!(h.verifier.verify(&bad, "client"), Err(AuthError::Invalid));
    }
    assert_eq!(
        retry_after(h.verifier.verify(&bad, "client")),
        Duration::from_secs(2)
    );
}

#[test]
fn negatively_cached_pairs_count_but_malformed_and_unknown_tokens_do_not() {
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    let unknown = unknown_token();
    for _ in 0..10 {
        assert!(matches!(
            h.verifier.verify("scim_nope", "c"),
            Err(AuthError::Malformed(_))
        ));
        assert_eq!(h.verifier.verify(&unknown, "c"), Err(AuthError::Unknown));
    }
    assert_eq!(h.verifier.stats().tracked_pairs, 0);
    let bad = with_wrong_secret(&token);
    for _ in 0..3 {
        assert_eq!(h.verifier.verify(&bad, "c"), Err(AuthError::Invalid));
    }
    retry_after(h.verifier.verify(&bad, "c"));
    assert_eq!(h.verifier.stats().hashes, 1);
    assert_eq!(h.verifier.stats().negative_hits, 2 + 9);
}

#[test]
fn revoked_and_expired_tokens_count_against_their_id() {
    let h = Harness::new(config());
    let (revoked_id, revoked) = h.add_token(1, None);
    h.source.rows.revoke(&revoked_id);
    let (_, expired) = h.add_token(1, Some(h.clock_now() - Duration::from_secs(1)));
    for _ in 0..3 {
        assert_eq!(h.verifier.verify(&revoked, "c"), Err(AuthError::Revoked));
        assert_eq!(h.verifier.verify(&expired, "c"), Err(AuthError::Expired));
    }
    retry_after(h.verifier.verify(&revoked, "c"));
    retry_after(h.verifier.verify(&expired, "c"));
    assert_eq!(h.verifier.stats().hashes, 0);
    assert_eq!(h.verifier.stats().tracked_pairs, 2);
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
        let _ = h.verifier.verify(&with_wrong_secret(&token), "shared nat");
    }
    retry_after(h.verifier.verify(&with_wrong_secret(&token), "shared nat"));
    assert_eq!(h.verifier.verify(&token, "shared nat").unwrap().org_id, 1);
    // The wrong secrets were refused from the cached digest, without a hash.
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn client_keys_can_be_any_hashable_value() {
    use std::net::{IpAddr, Ipv4Addr};
    let h = Harness::new(config());
    let (_, token) = h.add_token(1, None);
    let attacker = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8));
    for _ in 0..3 {
        let _ = h.verifier.verify(&with_random_secret(&token), &attacker);
    }
    retry_after(h.verifier.verify(&with_random_secret(&token), &attacker));
    assert_eq!(
        h.verifier.verify(&with_random_secret(&token), &other),
        Err(AuthError::Invalid)
    );
}
