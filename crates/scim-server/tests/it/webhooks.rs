//! Webhook delivery against a real HTTP receiver on a local port: signatures, order, retries,
//! pausing, a crashed worker's lease, and two replicas sharing the work.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use scim_server::webhooks::{self, WebhookConfig};
use scim_server::{ScimState, ServerConfig};
use scim_store::events::EventKind;
use scim_store::webhooks as stored;
use scim_store::OrgId;
use scim_test_db::receiver::Receiver;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, eventually, patch, post, run, test_verifier, Harness};

/// Fast retries and polling, so the tests take milliseconds rather than minutes.
fn quick(overrides: impl FnOnce(&mut WebhookConfig)) -> ServerConfig {
    let mut webhooks = WebhookConfig {
        poll_interval: Duration::from_millis(50),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        ..WebhookConfig::default()
    };
    overrides(&mut webhooks);
    ServerConfig {
        webhooks,
        ..ServerConfig::default()
    }
}

fn add(h: &Harness, org: OrgId, url: &str, kinds: Option<Vec<EventKind>>) -> (String, String) {
    let mut conn = h.store.get().unwrap();
    let added = webhooks::add(&mut conn, org, url, kinds).unwrap();
    (added.webhook.id, added.secret)
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

const LIMIT: Duration = Duration::from_secs(20);

store_test!(events_arrive_signed_and_in_order, |store| {
    run(async {
        let h = Harness::with(&store, quick(|_| {}), test_verifier());
        let (org, token) = h.acme();
        let receiver = Receiver::start();
        let only_deactivations = Receiver::start();
        let (_, secret) = add(&h, org, &receiver.url, None);
        let (filtered, filtered_secret) = add(
            &h,
            org,
            &only_deactivations.url,
            Some(vec![EventKind::Deactivated]),
        );
        let app = h.app().await;
        let created = call(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        let off = json!([{"op": "replace", "path": "active", "value": false}]);
        call(&app, patch(&format!("/scim/v2/Users/{id}"), &token, off)).await;
        call(&app, post("/scim/v2/Users", &token, &user("other"))).await;

        assert!(eventually(LIMIT, || receiver.accepted().len() == 3).await);
        assert!(eventually(LIMIT, || only_deactivations.accepted().len() == 1).await);
        let got = receiver.accepted();
        let types: Vec<Value> = got.iter().map(|d| d.body()["type"].clone()).collect();
        assert_eq!(
            types,
            [
                json!("user.created"),
                json!("user.deactivated"),
                json!("user.created")
            ]
        );
        let seqs: Vec<i64> = got
            .iter()
            .map(|d| d.body()["data"]["seq"].as_i64().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        for delivery in &got {
            // Standard Webhooks: the id names the event, the signature covers id, time, body.
            let seq = delivery.body()["data"]["seq"].as_i64().unwrap();
            assert_eq!(delivery.id, format!("evt_{}_{seq}", org.0));
            let expected =
                webhooks::sign(&[&secret], &delivery.id, delivery.timestamp, &delivery.raw);
            assert_eq!(delivery.signature, expected);
        }
        assert_eq!(got[1].body()["data"]["sessionVersion"], 2);
        let deactivation = &only_deactivations.accepted()[0];
        assert_eq!(deactivation.body()["type"], "user.deactivated");
        let expected = webhooks::sign(
            &[&filtered_secret],
            &deactivation.id,
            deactivation.timestamp,
            &deactivation.raw,
        );
        assert_eq!(deactivation.signature, expected);
        // The filtered webhook moved past the events it does not take.
        let mut conn = h.store.get().unwrap();
        let last = *seqs.last().unwrap();
        let delivered = || {
            stored::get(&mut h.store.get().unwrap(), org, &filtered)
                .unwrap()
                .delivered_seq
        };
        assert!(eventually(LIMIT, || delivered() == last).await);
        let state = stored::get(&mut conn, org, &filtered).unwrap();
        assert_eq!((state.failures, state.paused), (0, false));
    });
});

store_test!(a_failing_receiver_gets_retries_and_loses_nothing, |store| {
    run(async {
        let h = Harness::with(&store, quick(|_| {}), test_verifier());
        let (org, token) = h.acme();
        let receiver = Receiver::start();
        receiver.failing.store(3, Ordering::SeqCst);
        let (webhook, _) = add(&h, org, &receiver.url, None);
        let app = h.app().await;
        for name in ["a", "b", "c"] {
            call(&app, post("/scim/v2/Users", &token, &user(name))).await;
        }
        assert!(eventually(LIMIT, || receiver.accepted().len() == 3).await);
        let all = receiver.all();
        // The first event was tried until it went through; nothing was skipped or reordered.
        let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), 6, "{ids:?}");
        assert!(ids[..4].iter().all(|id| *id == ids[0]), "{ids:?}");
        let accepted: Vec<String> = receiver.accepted().iter().map(|d| d.id.clone()).collect();
        let unique: HashSet<&String> = accepted.iter().collect();
        assert_eq!(unique.len(), 3);
        let state = stored::get(&mut h.store.get().unwrap(), org, &webhook).unwrap();
        assert_eq!(state.failures, 0);
        assert!(state.last_error.is_none());
    });
});

store_test!(
    a_receiver_failing_too_often_pauses_its_webhook_until_resumed,
    |store| {
        run(async {
            let config = quick(|webhooks| webhooks.max_failures = 3);
            let h = Harness::with(&store, config, test_verifier());
            let (org, token) = h.acme();
            let receiver = Receiver::start();
            receiver.failing.store(usize::MAX, Ordering::SeqCst);
            let (webhook, _) = add(&h, org, &receiver.url, None);
            let app = h.app().await;
            call(&app, post("/scim/v2/Users", &token, &user("a"))).await;
            let paused = || {
                stored::get(&mut h.store.get().unwrap(), org, &webhook)
                    .unwrap()
                    .paused
            };
            assert!(eventually(LIMIT, paused).await);
            let state = stored::get(&mut h.store.get().unwrap(), org, &webhook).unwrap();
            assert_eq!(state.failures, 3);
            assert_eq!(
                state.last_error.as_deref(),
                Some("receiver answered HTTP 500")
            );
            let attempts = receiver.all().len();
            assert_eq!(attempts, 3);

            receiver.failing.store(0, Ordering::SeqCst);
            stored::resume(&mut h.store.get().unwrap(), org, &webhook).unwrap();
            call(&app, post("/scim/v2/Users", &token, &user("b"))).await;
            assert!(eventually(LIMIT, || receiver.accepted().len() == 2).await);
            let types: Vec<Value> = receiver
                .accepted()
                .iter()
                .map(|d| d.body()["data"]["seq"].clone())
                .collect();
            assert!(
                types[0].as_i64() < types[1].as_i64(),
                "the held event goes first"
            );
        });
    }
);

store_test!(
    a_crashed_workers_claim_lapses_and_its_events_are_delivered,
    |store| {
        run(async {
            let config = quick(|webhooks| webhooks.lease = Duration::from_millis(400));
            let h = Harness::with(&store, config, test_verifier());
            let (org, token) = h.acme();
            let receiver = Receiver::start();
            add(&h, org, &receiver.url, None);
            // Events written while no worker runs (as by another process).
            {
                let idle = Harness::with(
                    &store,
                    quick(|webhooks| webhooks.enabled = false),
                    test_verifier(),
                );
                let app = idle.app().await;
                for name in ["a", "b"] {
                    call(&app, post("/scim/v2/Users", &token, &user(name))).await;
                }
            }
            // A worker claims the webhook and dies before acknowledging anything.
            let mut conn = h.store.get().unwrap();
            let claimed =
                stored::claim(&mut conn, "crashed", Duration::from_millis(400), 10).unwrap();
            assert_eq!(claimed.len(), 1);
            // While its lease holds, no other worker takes the webhook.
            assert!(
                stored::claim(&mut conn, "other", Duration::from_secs(1), 10)
                    .unwrap()
                    .is_empty()
            );
            drop(conn);
            h.state.start_background_tasks();
            assert!(eventually(LIMIT, || receiver.accepted().len() == 2).await);
            let types: Vec<Value> = receiver
                .accepted()
                .iter()
                .map(|d| d.body()["type"].clone())
                .collect();
            assert_eq!(types, [json!("user.created"), json!("user.created")]);
        });
    }
);

store_test!(two_replicas_deliver_each_event_once, |store| {
    run(async {
        let h = Harness::with(&store, quick(|_| {}), test_verifier());
        let replica = ScimState::new(store.clone(), quick(|_| {}), test_verifier()).unwrap();
        let (org, token) = h.acme();
        let receiver = Receiver::start();
        add(&h, org, &receiver.url, None);
        h.state.start_background_tasks();
        replica.start_background_tasks();
        let app = h.app().await;
        for n in 0..20 {
            call(
                &app,
                post("/scim/v2/Users", &token, &user(&format!("u{n}"))),
            )
            .await;
        }
        assert!(eventually(LIMIT, || receiver.accepted().len() >= 20).await);
        // Give a double delivery the time to show up.
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        let ids: Vec<String> = receiver.all().iter().map(|d| d.id.clone()).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), 20, "{ids:?}");
        assert_eq!(unique.len(), 20);
        let seqs: Vec<i64> = receiver
            .all()
            .iter()
            .map(|d| d.body()["data"]["seq"].as_i64().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    });
});

store_test!(a_slow_receiver_delays_only_its_own_webhook, |store| {
    run(async {
        let h = Harness::with(&store, quick(|_| {}), test_verifier());
        let (org, token) = h.acme();
        let slow = Receiver::start();
        slow.delay_ms.store(4_000, Ordering::SeqCst);
        let fast = Receiver::start();
        add(&h, org, &slow.url, None);
        add(&h, org, &fast.url, None);
        let app = h.app().await;
        call(&app, post("/scim/v2/Users", &token, &user("a"))).await;
        assert!(eventually(LIMIT, || fast.accepted().len() == 1).await);
        // The slow receiver is still answering its first request.
        assert!(slow.all().is_empty());
        assert!(eventually(LIMIT, || slow.accepted().len() == 1).await);
    });
});
