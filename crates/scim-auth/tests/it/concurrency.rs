//! The cap on concurrent argon2 hashes.
//!
//! RFC 7644 §7.4 requires tokens that resist guessing, which is why they are hashed with a
//! deliberately slow function; the cap keeps that cost from taking every core.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_auth::{AuthError, VerifierConfig};

use crate::support::{test_config, Harness};

/// A harness whose hash hook reports each hash on `started` and then blocks until `release`
/// says so: a hash "in progress" for as long as a test needs, without timing.
#[expect(
    clippy::unwrap_used,
    reason = "a broken channel in a test hook must fail the test"
)]
fn held_harness(config: VerifierConfig) -> (Arc<Harness>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let mut h = Harness::new(config);
    let started_tx = Mutex::new(started_tx);
    h.verifier = h.verifier.with_hash_hook(move |_| {
        started_tx.lock().unwrap().send(()).unwrap();
        release_rx.lock().unwrap().recv().unwrap();
    });
    (Arc::new(h), started_rx, release_tx)
}

#[test]
fn a_full_hashing_cap_answers_busy_without_hashing() {
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 1,
        hash_wait: Duration::ZERO,
        ..test_config()
    });
    let (_, token_a) = h.add_token(1, None);
    let (_, token_b) = h.add_token(2, None);

    std::thread::scope(|s| {
        let first = s.spawn(|| h.verifier.verify(&token_a, "a"));
        started.recv().unwrap();
        // The only slot is held: the next hash is refused at once, not queued.
        assert_eq!(h.verifier.verify(&token_b, "b"), Err(AuthError::Busy));
        assert_eq!(h.verifier.stats().busy, 1);
        release.send(()).unwrap();
        assert_eq!(first.join().unwrap().unwrap().org_id, 1);
    });
    assert_eq!(h.verifier.stats().hashes, 1);

    // Busy is not the client's fault and is not remembered: the retry succeeds.
    let retry = std::thread::scope(|s| {
        let retry = s.spawn(|| h.verifier.verify(&token_b, "b"));
        started.recv().unwrap();
        release.send(()).unwrap();
        retry.join().unwrap()
    });
    assert_eq!(retry.unwrap().org_id, 2);
    assert_eq!(h.verifier.stats().hashes, 2);
}

#[test]
fn a_cap_of_two_admits_two_hashes_at_once() {
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 2,
        hash_wait: Duration::ZERO,
        ..test_config()
    });
    let tokens: Vec<String> = (0..3).map(|org| h.add_token(org, None).1).collect();
    std::thread::scope(|s| {
        let first = s.spawn(|| h.verifier.verify(&tokens[0], "a"));
        let second = s.spawn(|| h.verifier.verify(&tokens[1], "b"));
        started.recv().unwrap();
        started.recv().unwrap();
        assert_eq!(h.verifier.verify(&tokens[2], "c"), Err(AuthError::Busy));
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(first.join().unwrap().is_ok());
        assert!(second.join().unwrap().is_ok());
    });
}

#[test]
fn cache_hits_and_cheap_refusals_need_no_slot() {
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 1,
        hash_wait: Duration::ZERO,
        ..test_config()
    });
    let (_, cached) = h.add_token(1, None);
    let (_, slow) = h.add_token(2, None);
    let (revoked_id, revoked) = h.add_token(3, None);
    h.source.rows.revoke(&revoked_id);
    std::thread::scope(|s| {
        let warm = s.spawn(|| h.verifier.verify(&cached, "a"));
        started.recv().unwrap();
        release.send(()).unwrap();
        warm.join().unwrap().unwrap();

        let holder = s.spawn(|| h.verifier.verify(&slow, "b"));
        started.recv().unwrap();
        // With every slot held: a cached token, an unknown id and a revoked row still get
        // their answer, since none of them needs a hash.
        assert_eq!(h.verifier.verify(&cached, "c").unwrap().org_id, 1);
        assert_eq!(
            h.verifier.verify(&crate::support::unknown_token(), "c"),
            Err(AuthError::Unknown)
        );
        assert_eq!(h.verifier.verify(&revoked, "c"), Err(AuthError::Revoked));
        release.send(()).unwrap();
        holder.join().unwrap().unwrap();
    });
}

#[test]
fn waiters_for_the_same_token_reuse_the_first_verdict() {
    // A burst of requests with one uncached token hashes once: the others wait for the slot
    // and find the verdict in the cache.
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 1,
        hash_wait: Duration::from_secs(30),
        max_hash_waiters: 8,
        ..test_config()
    });
    let (_, token) = h.add_token(9, None);
    std::thread::scope(|s| {
        let first = s.spawn(|| h.verifier.verify(&token, "a"));
        started.recv().unwrap();
        let others: Vec<_> = (0..4)
            .map(|_| s.spawn(|| h.verifier.verify(&token, "a")))
            .collect();
        release.send(()).unwrap();
        assert!(first.join().unwrap().is_ok());
        for other in others {
            assert_eq!(other.join().unwrap().unwrap().org_id, 9);
        }
    });
    assert_eq!(h.verifier.stats().hashes, 1);
    assert_eq!(h.verifier.stats().busy, 0);
}

#[test]
fn one_client_cannot_take_every_hashing_slot() {
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 2,
        hash_wait: Duration::ZERO,
        ..test_config()
    });
    let (_, first) = h.add_token(1, None);
    let (_, second) = h.add_token(2, None);
    let (_, other) = h.add_token(3, None);
    std::thread::scope(|s| {
        let holder = s.spawn(|| h.verifier.verify(&first, "flood"));
        started.recv().unwrap();
        // Half the slots are this client's share: its next hash is refused, not started.
        let again = s.spawn(|| h.verifier.verify(&second, "flood"));
        let hashed_again = started.recv_timeout(Duration::from_millis(200)).is_ok();
        if hashed_again {
            // One for the holder (whose hook is first in line for the channel), one for this.
            release.send(()).unwrap();
            release.send(()).unwrap();
        }
        let again = again.join().unwrap();
        // The other half is there for everyone else.
        let good = s.spawn(|| h.verifier.verify(&other, "good client"));
        started.recv().unwrap();
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(holder.join().unwrap().is_ok());
        assert_eq!(good.join().unwrap().unwrap().org_id, 3);
        assert!(!hashed_again, "one client held every slot");
        assert_eq!(again, Err(AuthError::Busy));
    });
    assert_eq!(h.verifier.stats().hashes, 2);
}

#[test]
fn a_burst_of_wrong_secrets_is_throttled_after_waiting_for_a_slot() {
    // Sent at once, a burst passes the throttle before any of it has failed; each request
    // checks again once it holds a slot, so the failures of the first stop the rest.
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 1,
        hash_wait: Duration::from_secs(30),
        max_hash_waiters: 8,
        failures_before_throttle: 1,
        ..test_config()
    });
    let (_, token) = h.add_token(1, None);
    let guesses: Vec<String> = (0..4)
        .map(|_| crate::support::with_random_secret(&token))
        .collect();
    std::thread::scope(|s| {
        let first = s.spawn(|| h.verifier.verify(&guesses[0], "burst"));
        started.recv().unwrap();
        let rest: Vec<_> = guesses[1..]
            .iter()
            .map(|guess| s.spawn(|| h.verifier.verify(guess, "burst")))
            .collect();
        // Let the rest reach the wait (if one is late, the throttle stops it earlier).
        std::thread::sleep(Duration::from_millis(100));
        release.send(()).unwrap();
        assert_eq!(first.join().unwrap(), Err(AuthError::Invalid));
        for other in rest {
            assert!(matches!(
                other.join().unwrap(),
                Err(AuthError::Throttled { .. })
            ));
        }
    });
    assert_eq!(h.verifier.stats().hashes, 1);
}

// Passwords hash in slots of their own: a tenant writing users with passwords never makes
// another tenant's token check answer Busy, and the reverse.
#[test]
fn password_hashes_do_not_take_token_slots() {
    let (h, started, release) = held_harness(VerifierConfig {
        hash_concurrency: 1,
        hash_wait: Duration::ZERO,
        password_hash_concurrency: 1,
        password_hash_wait: Duration::ZERO,
        ..test_config()
    });
    let (_, token) = h.add_token(1, None);
    std::thread::scope(|s| {
        let check = s.spawn(|| h.verifier.verify(&token, "a"));
        started.recv().unwrap();
        // The only token slot is held; a password still hashes.
        let hash = h.verifier.hash_password(&"org-2", "t1meMa$heen").unwrap();
        assert!(scim_auth::is_argon2id_phc(&hash));
        release.send(()).unwrap();
        assert_eq!(check.join().unwrap().unwrap().org_id, 1);
    });
    assert_eq!(h.verifier.stats().busy, 0);
}
