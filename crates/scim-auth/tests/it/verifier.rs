//! The verification cache, revocation, expiry, the negative cache and last-used times.
//!
//! RFC 7644 §6.1: the service provider may use the authentication mechanism "to determine the
//! identity of the client and thus infer the associated Tenant", so every verdict carries the
//! token's organisation. RFC 7644 §7.4: bearer tokens "MUST have a limited lifetime that can be
//! determined directly or indirectly ... by the service provider".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use scim_auth::{
    AuthContext, AuthError, MemoryTokenSource, StoredToken, TokenId, TokenSource, Verifier,
    VerifierConfig,
};

use crate::support::{test_config, unknown_token, with_random_secret, with_wrong_secret, Harness};

const TTL: Duration = Duration::from_secs(60);

#[test]
fn verifier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier<MemoryTokenSource>>();
    assert_send_sync::<Verifier<Arc<MemoryTokenSource>>>();
}

#[test]
fn a_good_token_yields_its_organisation() {
    let h = Harness::new(test_config());
    let (id_a, token_a) = h.add_token(1, None);
    let (id_b, token_b) = h.add_token(2, None);
    assert_eq!(
        h.verifier.verify(&token_a, "c"),
        Ok(AuthContext {
            org_id: 1,
            token_id: id_a
        })
    );
    assert_eq!(
        h.verifier.verify(&token_b, "c"),
        Ok(AuthContext {
            org_id: 2,
            token_id: id_b
        })
    );
}

#[test]
fn a_cache_hit_neither_calls_the_source_nor_hashes() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(7, None);
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.source.calls(), 1);
    assert_eq!(h.verifier.stats().hashes, 1);
    for _ in 0..100 {
        assert_eq!(h.verifier.verify(&token, "c").unwrap().org_id, 7);
        h.advance(Duration::from_millis(500));
    }
    assert_eq!(h.source.calls(), 1);
    let stats = h.verifier.stats();
    assert_eq!(stats.hashes, 1);
    assert_eq!(stats.cache_hits, 100);
    assert_eq!(stats.source_lookups, 1);
}

#[test]
fn verify_cached_answers_hits_and_defers_misses() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(7, None);
    assert_eq!(h.verifier.verify_cached(&token, "c"), None);
    assert_eq!(h.source.calls(), 0);
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(
        h.verifier.verify_cached(&token, "c"),
        Some(Ok(AuthContext {
            org_id: 7,
            token_id: id
        }))
    );
    assert_eq!(
        h.verifier.verify_cached("garbage", "c"),
        Some(Err(AuthError::Malformed(
            scim_auth::TokenParseError::MissingPrefix
        )))
    );
    assert_eq!(h.source.calls(), 1);
}

#[test]
fn the_cache_is_refreshed_from_the_source_after_its_ttl() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(7, None);
    h.verifier.verify(&token, "c").unwrap();
    h.advance(TTL - Duration::from_secs(1));
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.source.calls(), 1);
    h.advance(Duration::from_secs(1));
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.source.calls(), 2);
}

// The row is read again after the cache TTL, but a secret already proven against that row's
// hash is not hashed again: the re-check costs a lookup, and revocation still takes effect
// within the TTL because the lookup reads the row.
#[test]
fn a_proven_secret_is_rechecked_without_a_hash_after_the_ttl() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(7, None);
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.verifier.stats().hashes, 1);
    for round in 1..=5 {
        h.advance(TTL);
        assert_eq!(h.verifier.verify_cached(&token, "c"), None);
        assert_eq!(h.verifier.verify(&token, "c").unwrap().org_id, 7);
        assert_eq!(h.source.calls(), 1 + round);
    }
    let stats = h.verifier.stats();
    assert_eq!(stats.hashes, 1);
    assert_eq!(stats.known_good_hits, 5);
    assert_eq!(stats.known_good_tokens, 1);

    assert!(h.source.rows.revoke(&id));
    h.advance(TTL);
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
    let stats = h.verifier.stats();
    assert_eq!(stats.hashes, 1);
    assert_eq!(stats.known_good_tokens, 0);
}

#[test]
fn a_wrong_secret_for_a_proven_token_costs_no_hash() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(7, None);
    h.verifier.verify(&token, "c").unwrap();
    h.advance(TTL);
    // Out of the verified cache, but the proven secret says this one is wrong.
    for i in 0..3 {
        assert_eq!(
            h.verifier
                .verify(&with_random_secret(&token), &format!("client {i}")),
            Err(AuthError::Invalid)
        );
    }
    assert_eq!(h.verifier.stats().hashes, 1);
    assert_eq!(h.verifier.verify(&token, "c").unwrap().org_id, 7);
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn a_proof_holds_only_for_the_stored_hash_it_was_made_against() {
    let h = Harness::new(test_config());
    let (id, old_token) = h.add_token(7, None);
    h.verifier.verify(&old_token, "c").unwrap();
    // The row's hash changes under the same id (a store could re-key a token in place).
    let issued = scim_auth::IssuedToken::generate(&crate::support::cheap_params()).unwrap();
    let new_secret = issued.expose_token().rsplit('_').next().unwrap();
    let new_token = format!("scim_{id}_{new_secret}");
    let mut row = h.source.rows.find(&id).unwrap().unwrap();
    row.phc_hash = issued.phc_hash().to_owned();
    h.source.rows.insert(row);
    h.advance(TTL);
    assert_eq!(h.verifier.verify(&old_token, "c"), Err(AuthError::Invalid));
    assert_eq!(h.verifier.stats().hashes, 2);
    assert_eq!(h.verifier.verify(&new_token, "c").unwrap().org_id, 7);
    assert_eq!(h.verifier.stats().hashes, 3);
    assert_eq!(h.verifier.stats().known_good_hits, 0);
}

#[test]
fn a_proof_lapses_after_the_known_good_ttl_without_use() {
    let h = Harness::new(VerifierConfig {
        known_good_ttl: Duration::from_secs(3600),
        ..test_config()
    });
    let (_, token) = h.add_token(7, None);
    h.verifier.verify(&token, "c").unwrap();
    // In use: each re-check renews the proof, well past its lifetime.
    for _ in 0..4 {
        h.advance(Duration::from_secs(1800));
        h.verifier.verify(&token, "c").unwrap();
    }
    assert_eq!(h.verifier.stats().hashes, 1);
    // Idle for the whole lifetime: hashed again.
    h.advance(Duration::from_secs(3600));
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.verifier.stats().hashes, 2);
}

#[test]
fn expiry_drops_the_proof() {
    let h = Harness::new(test_config());
    let expires_at = h.clock_now() + Duration::from_secs(90);
    let (_, token) = h.add_token(1, Some(expires_at));
    h.verifier.verify(&token, "c").unwrap();
    h.advance(TTL);
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(h.verifier.stats().known_good_hits, 1);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Expired));
    assert_eq!(h.verifier.stats().known_good_tokens, 0);
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn unknown_ids_are_refused_without_hashing() {
    let h = Harness::new(test_config());
    h.add_token(1, None);
    let token = unknown_token();
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Unknown));
    assert_eq!(h.source.calls(), 1);
    assert_eq!(h.verifier.stats().hashes, 0);
    // Many different unknown ids: each asks the source once, none hashes.
    for i in 0..3 {
        assert_eq!(
            h.verifier.verify(&unknown_token(), &format!("client {i}")),
            Err(AuthError::Unknown)
        );
    }
    assert_eq!(h.verifier.stats().hashes, 0);
}

#[test]
fn a_wrong_secret_is_invalid() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(1, None);
    assert_eq!(
        h.verifier.verify(&with_wrong_secret(&token), "c"),
        Err(AuthError::Invalid)
    );
    assert_eq!(h.verifier.stats().hashes, 1);
    // The good secret still works: a failure is about the pair, not the id.
    assert!(h.verifier.verify(&token, "c").is_ok());
}

#[test]
fn a_wrong_secret_for_a_cached_id_is_refused_without_hashing() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(1, None);
    h.verifier.verify(&token, "c").unwrap();
    assert_eq!(
        h.verifier.verify(&with_wrong_secret(&token), "c"),
        Err(AuthError::Invalid)
    );
    let stats = h.verifier.stats();
    assert_eq!(stats.hashes, 1);
    assert_eq!(h.source.calls(), 1);
}

#[test]
fn revocation_is_honoured_after_the_cache_ttl() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(1, None);
    h.verifier.verify(&token, "c").unwrap();
    assert!(h.source.rows.revoke(&id));

    // Within the documented bound the cached verdict may still be used...
    h.advance(TTL - Duration::from_secs(1));
    assert!(h.verifier.verify(&token, "c").is_ok());
    // ...and never beyond it.
    h.advance(Duration::from_secs(1));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
    // A revoked row is refused before any hash.
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn the_revocation_bound_is_configurable() {
    let h = Harness::new(VerifierConfig {
        cache_ttl: Duration::from_secs(5),
        ..test_config()
    });
    let (id, token) = h.add_token(1, None);
    h.verifier.verify(&token, "c").unwrap();
    h.source.rows.revoke(&id);
    h.advance(Duration::from_secs(5));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
}

#[test]
fn forget_makes_a_local_revocation_immediate() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(1, None);
    h.verifier.verify(&token, "c").unwrap();
    h.source.rows.revoke(&id);
    h.verifier.forget(&id);
    assert_eq!(h.verifier.stats().known_good_tokens, 0);
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Revoked));
}

#[test]
fn a_removed_token_becomes_unknown_after_the_ttl() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(1, None);
    h.verifier.verify(&token, "c").unwrap();
    h.source.rows.remove(&id);
    h.advance(TTL);
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Unknown));
}

#[test]
fn expiry_takes_effect_at_once_even_from_the_cache() {
    let h = Harness::new(test_config());
    let expires_at = h.clock_now() + Duration::from_secs(10);
    let (_, token) = h.add_token(1, Some(expires_at));
    h.verifier.verify(&token, "c").unwrap();
    h.advance(Duration::from_secs(9));
    assert!(h.verifier.verify(&token, "c").is_ok());
    h.advance(Duration::from_secs(1));
    // Still well within the cache TTL, yet refused.
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Expired));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Expired));
    assert_eq!(h.source.calls(), 1);
    assert_eq!(h.verifier.stats().hashes, 1);
}

#[test]
fn an_expired_row_is_refused_without_hashing() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(1, Some(h.clock_now() - Duration::from_secs(1)));
    assert_eq!(h.verifier.verify(&token, "c"), Err(AuthError::Expired));
    assert_eq!(h.verifier.stats().hashes, 0);
}

#[test]
fn the_same_bad_token_is_not_hashed_again() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(1, None);
    let bad = with_wrong_secret(&token);
    let negative_ttl = test_config().negative_ttl;
    for i in 0..3 {
        // Different clients, so throttling does not get in the way of what is measured.
        assert_eq!(
            h.verifier.verify(&bad, &format!("client {i}")),
            Err(AuthError::Invalid)
        );
    }
    let stats = h.verifier.stats();
    assert_eq!(stats.hashes, 1);
    assert_eq!(stats.negative_hits, 2);
    assert_eq!(h.source.calls(), 1);

    // The pair is forgotten after the negative TTL and hashed (and refused) once more.
    h.advance(negative_ttl);
    assert_eq!(h.verifier.verify(&bad, "client 9"), Err(AuthError::Invalid));
    assert_eq!(h.verifier.stats().hashes, 2);
}

#[test]
fn unknown_and_revoked_verdicts_are_negatively_cached_too() {
    let h = Harness::new(test_config());
    let unknown = unknown_token();
    let (id, revoked) = h.add_token(1, None);
    h.source.rows.revoke(&id);
    for i in 0..3 {
        let client = format!("client {i}");
        assert_eq!(
            h.verifier.verify(&unknown, &client),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            h.verifier.verify(&revoked, &client),
            Err(AuthError::Revoked)
        );
    }
    assert_eq!(h.source.calls(), 2);
    assert_eq!(h.verifier.stats().hashes, 0);
}

#[test]
fn source_failures_are_reported_and_not_cached() {
    let h = Harness::new(test_config());
    let (_, token) = h.add_token(1, None);
    h.source
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..10 {
        let error = h.verifier.verify(&token, "c").unwrap_err();
        assert_eq!(error, AuthError::Source("connection refused".to_owned()));
        assert!(!error.to_string().contains(&token));
    }
    // Not the client's fault: no throttling, no negative cache; recovery is immediate.
    h.source
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(h.verifier.verify(&token, "c").is_ok());
    assert_eq!(h.source.calls(), 11);
}

#[test]
fn a_corrupt_stored_hash_is_a_source_error() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(1, None);
    let mut row = h.source.rows.find(&id).unwrap().unwrap();
    row.phc_hash = "$argon2id$garbage".to_owned();
    h.source.rows.insert(row);
    let error = h.verifier.verify(&token, "c").unwrap_err();
    assert!(matches!(error, AuthError::Source(_)), "{error:?}");
    assert!(!error.to_string().contains(&token));
}

#[test]
fn error_messages_never_contain_the_token() {
    let h = Harness::new(VerifierConfig {
        failures_before_throttle: 2,
        ..test_config()
    });
    let (_, token) = h.add_token(1, None);
    let secret = token.rsplit('_').next().unwrap().to_owned();
    let bad = with_wrong_secret(&token);
    let bad_secret = bad.rsplit('_').next().unwrap().to_owned();
    let mut errors = Vec::new();
    for _ in 0..4 {
        errors.push(h.verifier.verify(&bad, "c").unwrap_err());
    }
    errors.push(h.verifier.verify(&format!("{token}x"), "d").unwrap_err());
    assert!(errors
        .iter()
        .any(|e| matches!(e, AuthError::Throttled { .. })));
    for error in errors {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.contains(&bad_secret), "{text}");
        }
    }
}

#[test]
fn take_last_used_drains_what_changed() {
    let h = Harness::new(test_config());
    let (id_a, token_a) = h.add_token(1, None);
    let (id_b, token_b) = h.add_token(1, None);
    assert!(h.verifier.take_last_used().is_empty());

    h.verifier.verify(&token_a, "c").unwrap();
    let t1 = h.clock_now();
    h.advance(Duration::from_secs(5));
    h.verifier.verify(&token_a, "c").unwrap();
    h.verifier.verify(&token_b, "c").unwrap();
    let t2 = h.clock_now();

    let mut used = h.verifier.take_last_used();
    used.sort();
    let mut expected = vec![(id_a.clone(), t2), (id_b, t2)];
    expected.sort();
    assert_eq!(used, expected);
    assert!(t1 < t2);
    // Drained: nothing changed since.
    assert!(h.verifier.take_last_used().is_empty());

    // A failed attempt is not a use.
    h.verifier
        .verify(&with_wrong_secret(&token_a), "c")
        .unwrap_err();
    assert!(h.verifier.take_last_used().is_empty());

    h.advance(Duration::from_secs(1));
    h.verifier.verify(&token_a, "c").unwrap();
    assert_eq!(h.verifier.take_last_used(), vec![(id_a, h.clock_now())]);
}

#[test]
fn empty_credentials_are_missing() {
    let h = Harness::new(test_config());
    assert_eq!(h.verifier.verify("", "c"), Err(AuthError::Missing));
    assert_eq!(h.source.calls(), 0);
}

#[test]
fn the_caches_stay_bounded_under_a_flood() {
    let h = Harness::new(VerifierConfig {
        max_cache_entries: 32,
        max_tracked_clients: 16,
        ..test_config()
    });
    let (_, token) = h.add_token(1, None);
    for i in 0..500 {
        let _ = h.verifier.verify(&unknown_token(), &format!("client {i}"));
        let _ = h
            .verifier
            .verify(&with_wrong_secret(&token), &format!("client {i}"));
        let stats = h.verifier.stats();
        assert!(stats.rejected_entries <= 32, "{stats:?}");
        assert!(stats.tracked_clients <= 16, "{stats:?}");
        assert!(stats.tracked_pairs <= 16, "{stats:?}");
        assert!(stats.cached_tokens <= 32, "{stats:?}");
        assert!(stats.known_good_tokens <= 32, "{stats:?}");
    }
    // The good token still verifies.
    assert!(h.verifier.verify(&token, "good client").is_ok());
}

#[test]
fn a_stored_token_lookup_uses_the_public_id_only() {
    // The source receives ids, never secrets: a recording source proves it.
    struct Recording(std::sync::Mutex<Vec<TokenId>>, MemoryTokenSource);
    impl TokenSource for Recording {
        type Error = std::convert::Infallible;
        fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Self::Error> {
            self.0.lock().unwrap().push(id.clone());
            self.1.find(id)
        }
    }
    let source = Arc::new(Recording(Default::default(), MemoryTokenSource::new()));
    let verifier = Verifier::new(Arc::clone(&source), test_config());
    let issued = verifier.issue().unwrap();
    source.1.insert(StoredToken {
        id: issued.id().clone(),
        org_id: 5,
        name: "entra".to_owned(),
        phc_hash: issued.phc_hash().to_owned(),
        expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
        revoked: false,
    });
    assert_eq!(
        verifier.verify(issued.expose_token(), "c").unwrap().org_id,
        5
    );
    assert_eq!(*source.0.lock().unwrap(), vec![issued.id().clone()]);
}
