//! In-process listeners: order, at-least-once on failure, and writes of another process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_server::{EventListener, ListenerError, ScimState, ServerConfig};
use scim_store::events::EventRecord;
use scim_store::OrgId;
use scim_test_db::store_test;
use serde_json::json;

use crate::{call, eventually, post, run, test_verifier, Harness};

/// Records what it is handed; fails its first `failures` calls.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(OrgId, i64, String)>>,
    failures: AtomicUsize,
}

impl EventListener for Recorder {
    fn on_events(&self, org: OrgId, events: &[EventRecord]) -> Result<(), ListenerError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("not now".into());
        }
        let mut seen = self.seen.lock().unwrap();
        seen.extend(
            events
                .iter()
                .map(|e| (org, e.seq, e.kind.as_str().to_owned())),
        );
        Ok(())
    }
}

fn user(name: &str) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

store_test!(
    listeners_get_new_events_in_order_again_after_a_failure,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (org, token) = h.acme();
            let app = h.app().await;
            // Written before the listener: not handed over.
            call(&app, post("/scim/v2/Users", &token, &user("before"))).await;
            let recorder = Arc::new(Recorder {
                failures: AtomicUsize::new(1),
                ..Recorder::default()
            });
            h.state.add_listener(recorder.clone()).unwrap();
            for name in ["a", "b", "c"] {
                call(&app, post("/scim/v2/Users", &token, &user(name))).await;
            }
            let seen = || recorder.seen.lock().unwrap().len();
            assert!(eventually(Duration::from_secs(20), || seen() >= 3).await);
            let seen = recorder.seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 3, "{seen:?}");
            assert!(seen
                .iter()
                .all(|(o, _, kind)| *o == org && kind == "created"));
            assert!(seen.windows(2).all(|w| w[0].1 < w[1].1), "{seen:?}");

            // A write by another process on the same database is found by the sweep.
            let other =
                ScimState::new(store.clone(), ServerConfig::default(), test_verifier()).unwrap();
            let other_app = actix_web::test::init_service(
                actix_web::App::new().service(scim_server::scope("/scim/v2", other)),
            )
            .await;
            call(
                &other_app,
                post("/scim/v2/Users", &token, &user("elsewhere")),
            )
            .await;
            let count = || recorder.seen.lock().unwrap().len();
            assert!(eventually(Duration::from_secs(20), || count() == 4).await);
        });
    }
);
