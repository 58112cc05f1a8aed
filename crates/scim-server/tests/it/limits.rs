//! One organisation cannot take the database from the others (issue 9): the database jobs an
//! organisation runs at once are bounded (`ServerConfig::max_org_db_jobs`), on both backends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::rt::time::sleep;
use actix_web::{test, web, App, HttpResponse};
use futures_util::future::join;
use scim_server::{resource, scope_with, ApiError, Authenticated, ScimState, ServerConfig};
use scim_store::{PoolConfig, Store};
use scim_test_db::store_test;

use crate::{call, eventually, get, run, test_verifier, with_token, Harness};

/// Holds the database jobs of the test route `/slow` until it is opened.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    /// Jobs that reached the gate.
    entered: AtomicUsize,
}

impl Gate {
    fn wait(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let open = self.open.lock().unwrap();
        // Bounded, so a failing test cannot hang.
        let _ = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(10), |open| !*open)
            .unwrap();
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// A request whose database job lasts until the gate opens: an expensive query, as far as the
/// pool can tell.
async fn slow(
    auth: Authenticated,
    state: web::Data<ScimState>,
    gate: web::Data<Gate>,
) -> Result<HttpResponse, ApiError> {
    let gate = gate.into_inner();
    state
        .with_conn(auth.org, move |_conn| {
            gate.wait();
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// RFC 6585 §4: 429 "indicates that the user has sent too many requests in a given amount of time
// ("rate limiting")" and "MAY include a Retry-After header indicating how long to wait before
// making a new request". With a pool of two connections and at most one database job per
// organisation, organisation A's second slow request waits for A's first (holding no
// connection) and is refused with 429; organisation B, arriving while both are in flight, still
// gets the second connection. Without the bound, A's two requests held both connections and B
// waited for one until the pool gave up (503).
store_test!(
    a_busy_organisation_leaves_the_others_a_connection,
    |_store, db| {
        let small = Store::connect(
            db.url(),
            PoolConfig {
                max_size: 2,
                min_idle: Some(2),
                connection_timeout: Duration::from_secs(1),
                ..PoolConfig::default()
            },
        )
        .unwrap();
        let config = ServerConfig {
            max_org_db_jobs: Some(1),
            org_db_wait: Duration::from_millis(500),
            ..ServerConfig::default()
        };
        let harness = Harness::with(&small, config, test_verifier());
        let (_, a_token) = harness.acme();
        let b = harness.org("other");
        let (b_token, _) = harness.token(b, "okta");
        let gate = web::Data::new(Gate::default());
        run(async {
            let route_gate = gate.clone();
            let app = test::init_service(App::new().service(scope_with(
                "/scim/v2",
                harness.state.clone(),
                move |cfg| {
                    cfg.app_data(route_gate)
                        .service(resource("/slow", &[Method::POST]).route(web::post().to(slow)));
                },
            )))
            .await;
            let slow_request =
                || with_token(test::TestRequest::post().uri("/scim/v2/slow"), &a_token);
            let first = call(&app, slow_request());
            // Sent once the first holds its connection, and B once the second had time to take
            // the other (as it did without the bound).
            let first_in = || gate.entered.load(Ordering::SeqCst) >= 1;
            let second = async {
                assert!(eventually(Duration::from_secs(10), first_in).await);
                call(&app, slow_request()).await
            };
            let other = async {
                assert!(eventually(Duration::from_secs(10), first_in).await);
                sleep(Duration::from_millis(200)).await;
                call(&app, get("/scim/v2/Users", &b_token)).await
            };
            // The first request ends once both others have their answer.
            let probes = async {
                let replies = join(second, other).await;
                gate.open();
                replies
            };
            let (first, (second, other)) = join(first, probes).await;
            assert_eq!(other.status, 200, "{other:?}");
            second.assert_error(429);
            assert_eq!(second.header("retry-after"), Some("1"), "{second:?}");
            assert_eq!(first.status, 204, "{first:?}");
        });
    }
);
