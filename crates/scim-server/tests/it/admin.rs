//! The admin API: credentials, the change feed (resume, long polling, retention's 410), the
//! sign-in session check, the "managed by SCIM" flag, and webhook management.

use std::time::{Duration, Instant, SystemTime};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use scim_server::{admin_scope, scope, ServerConfig};
use scim_store::admin_tokens::{self, NewAdminToken};
use scim_store::{events, OrgId};
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, patch, post, run, with_token, Harness, Reply};

const FEED: &str = "/admin/v1/orgs/acme/events";

impl Harness {
    /// An admin token covering `orgs` (every organisation when `None`).
    pub(crate) fn admin_token(&self, orgs: Option<Vec<OrgId>>) -> String {
        let issued = self.state.admin_verifier().issue().unwrap();
        let mut conn = self.store.get().unwrap();
        admin_tokens::insert(
            &mut conn,
            &NewAdminToken {
                id: issued.id().to_string(),
                name: "ops".into(),
                secret_hash: issued.phc_hash().to_owned(),
                orgs,
                expires_at: None,
            },
        )
        .unwrap();
        issued.expose_token().to_owned()
    }

    /// The SCIM service at `/scim/v2` and the admin API at `/admin/v1`.
    pub(crate) async fn admin_app(
        &self,
    ) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
    {
        test::init_service(
            App::new()
                .service(scope("/scim/v2", self.state.clone()))
                .service(admin_scope("/admin/v1", self.state.clone())),
        )
        .await
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

/// Asserts an RFC 9457 problem document with `status`.
fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(
        reply.content_type(),
        "application/problem+json",
        "{reply:?}"
    );
    assert_eq!(reply.body["status"], json!(status), "{reply:?}");
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

fn kinds(reply: &Reply) -> Vec<String> {
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap().to_owned())
        .collect()
}

store_test!(admin_and_scim_credentials_do_not_cross, |store| {
    run(async {
        let h = Harness::new(&store);
        let (acme, scim_token) = h.acme();
        let other = h.org("globex");
        let admin = h.admin_token(None);
        let limited = h.admin_token(Some(vec![other]));
        let app = h.admin_app().await;

        // A SCIM token is no admin credential, and an admin token no SCIM one.
        let reply = call(&app, get(FEED, &scim_token)).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").is_some());
        call(&app, get("/scim/v2/Users", &admin))
            .await
            .assert_error(401);
        assert_problem(&call(&app, test::TestRequest::get().uri(FEED)).await, 401);

        // A token limited to other organisations does not see acme at all.
        assert_problem(&call(&app, get(FEED, &limited)).await, 404);
        assert_problem(&call(&app, get("/admin/v1/orgs/acme", &limited)).await, 404);
        let listed = call(&app, get("/admin/v1/orgs", &limited)).await;
        assert_eq!(listed.body["organizations"].as_array().unwrap().len(), 1);
        assert_eq!(listed.body["organizations"][0]["name"], "globex");
        let all = call(&app, get("/admin/v1/orgs", &admin)).await;
        assert_eq!(all.body["organizations"].as_array().unwrap().len(), 2);

        // Revoked admin tokens stop working.
        let mut conn = h.store.get().unwrap();
        let id = &admin["scim_".len().."scim_".len() + 16];
        admin_tokens::revoke(&mut conn, id).unwrap();
        h.state
            .admin_verifier()
            .forget(&scim_auth::TokenId::parse(id).unwrap());
        assert_problem(&call(&app, get(FEED, &admin)).await, 401);
        let _ = acme;
    });
});

store_test!(
    feed_lists_events_in_order_and_resumes_from_any_seq,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (_, token) = h.acme();
            let admin = h.admin_token(None);
            let app = h.admin_app().await;
            let created = call(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await;
            let id = created.body["id"].as_str().unwrap().to_owned();
            let path = format!("/scim/v2/Users/{id}");
            let off = json!([{"op": "replace", "path": "active", "value": false}]);
            let on = json!([{"op": "replace", "path": "active", "value": true}]);
            call(&app, patch(&path, &token, off.clone())).await;
            call(&app, patch(&path, &token, on)).await;
            call(&app, patch(&path, &token, off)).await;
            let group = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "eng",
                "members": [{"value": id}],
            });
            let group = call(&app, post("/scim/v2/Groups", &token, &group)).await;
            let gid = group.body["id"].as_str().unwrap().to_owned();
            let remove = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
            call(
                &app,
                patch(&format!("/scim/v2/Groups/{gid}"), &token, remove),
            )
            .await;
            call(&app, crate::delete(&path, &token)).await;

            let all = call(&app, get(FEED, &admin)).await;
            assert_eq!(all.status, 200, "{all:?}");
            assert_eq!(
                kinds(&all),
                [
                    "created",
                    "deactivated",
                    "reactivated",
                    "deactivated",
                    "created",
                    "member_added",
                    "member_removed",
                    "updated",
                    "deleted"
                ]
            );
            let events = all.body["events"].as_array().unwrap();
            let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
            // Each deactivation carries the session version the host application compares.
            assert_eq!(events[1]["sessionVersion"], 2);
            assert_eq!(events[3]["sessionVersion"], 3);
            assert_eq!(events[5]["members"], json!([id]));
            assert_eq!(events[6]["members"], json!([id]));
            assert_eq!(events[0]["resourceType"], "User");
            assert_eq!(events[0]["attributes"], json!(["userName"]));
            assert!(events[0]["tokenId"].as_str().is_some_and(|t| t.len() == 16));
            assert_eq!(all.body["next"], json!(seqs.last()));
            assert_eq!(all.body["scimManaged"], true);

            // Resumable from any seq, a page at a time.
            let page = call(
                &app,
                get(&format!("{FEED}?after={}&limit=2", seqs[2]), &admin),
            )
            .await;
            assert_eq!(kinds(&page), ["deactivated", "created"]);
            assert_eq!(page.body["next"], json!(seqs[4]));
            let rest = call(&app, get(&format!("{FEED}?after={}", seqs[4]), &admin)).await;
            assert_eq!(rest.body["events"].as_array().unwrap().len(), 4);
            let none = call(&app, get(&format!("{FEED}?after={}", seqs[8]), &admin)).await;
            assert_eq!(none.body["events"], json!([]));
            assert_eq!(none.body["next"], json!(seqs[8]));
        });
    }
);

store_test!(feed_rejects_bad_parameters, |store| {
    run(async {
        let h = Harness::new(&store);
        h.acme();
        let admin = h.admin_token(None);
        let app = h.admin_app().await;
        for query in [
            "after=-1",
            "after=x",
            "limit=0",
            "limit=1001",
            "wait=61s",
            "wait=soon",
            "unknown=1",
        ] {
            let reply = call(&app, get(&format!("{FEED}?{query}"), &admin)).await;
            assert_problem(&reply, 400);
        }
        let wrong = call(
            &app,
            with_token(test::TestRequest::post().uri(FEED), &admin),
        )
        .await;
        assert_problem(&wrong, 405);
        assert_eq!(wrong.header("allow"), Some("GET"));
        assert_problem(&call(&app, get("/admin/v1/nope", &admin)).await, 404);
    });
});

store_test!(
    a_waiting_feed_request_returns_with_the_next_write,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (_, token) = h.acme();
            let admin = h.admin_token(None);
            let app = h.admin_app().await;

            // Nothing new: the request waits its `wait` out and answers an empty page.
            let started = Instant::now();
            let idle = call(&app, get(&format!("{FEED}?wait=300ms"), &admin)).await;
            assert_eq!(idle.body["events"], json!([]));
            assert!(started.elapsed() >= Duration::from_millis(300));

            // A write during the wait answers the waiting request with it.
            let waiting = call(&app, get(&format!("{FEED}?wait=30s"), &admin));
            let write = async {
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                call(&app, post("/scim/v2/Users", &token, &user("late"))).await
            };
            let (woken, created) = futures_util::future::join(waiting, write).await;
            assert_eq!(created.status, 201);
            assert_eq!(kinds(&woken), ["created"]);
        });
    }
);

store_test!(
    feed_behind_retention_gets_410_with_where_to_resume,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (org, token) = h.acme();
            let admin = h.admin_token(None);
            let app = h.admin_app().await;
            for name in ["a", "b", "c"] {
                call(&app, post("/scim/v2/Users", &token, &user(name))).await;
            }
            let all = call(&app, get(FEED, &admin)).await;
            let seqs: Vec<i64> = all.body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap())
                .collect();
            let mut conn = h.store.get().unwrap();
            let pruned =
                events::prune(&mut conn, SystemTime::now() + Duration::from_secs(1)).unwrap();
            assert_eq!(pruned, 3);
            assert_eq!(events::pruned_through(&mut conn, org).unwrap(), seqs[2]);

            let gone = call(&app, get(&format!("{FEED}?after={}", seqs[0]), &admin)).await;
            assert_problem(&gone, 410);
            assert_eq!(gone.body["resyncFrom"], json!(seqs[2]));
            assert_eq!(gone.body["prunedThrough"], json!(seqs[2]));
            // From the resync point on, the feed continues.
            let resumed = call(&app, get(&format!("{FEED}?after={}", seqs[2]), &admin)).await;
            assert_eq!(resumed.status, 200);
            call(&app, post("/scim/v2/Users", &token, &user("d"))).await;
            let next = call(&app, get(&format!("{FEED}?after={}", seqs[2]), &admin)).await;
            assert_eq!(kinds(&next), ["created"]);
        });
    }
);

store_test!(session_check_by_id_and_by_user_name, |store| {
    run(async {
        let h = Harness::new(&store);
        let (_, token) = h.acme();
        let admin = h.admin_token(None);
        let app = h.admin_app().await;
        let created = call(&app, post("/scim/v2/Users", &token, &user("BJensen"))).await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        let by_id = format!("/admin/v1/orgs/acme/users/{id}/session");
        let session = call(&app, get(&by_id, &admin)).await;
        assert_eq!(
            session.body,
            json!({"id": id, "userName": "BJensen", "active": true, "sessionVersion": 1})
        );
        let off = json!([{"op": "replace", "path": "active", "value": false}]);
        call(&app, patch(&format!("/scim/v2/Users/{id}"), &token, off)).await;
        // userName is matched as its uniqueness compares it: case-insensitively.
        let by_name = "/admin/v1/orgs/acme/users/session?userName=bjensen";
        let session = call(&app, get(by_name, &admin)).await;
        assert_eq!(session.body["active"], false);
        assert_eq!(session.body["sessionVersion"], 2);

        let missing = "/admin/v1/orgs/acme/users/nobody/session";
        assert_problem(&call(&app, get(missing, &admin)).await, 404);
        let empty = "/admin/v1/orgs/acme/users/session?userName=";
        assert_problem(&call(&app, get(empty, &admin)).await, 400);
        let no_query = "/admin/v1/orgs/acme/users/session";
        assert_problem(&call(&app, get(no_query, &admin)).await, 400);
        call(&app, crate::delete(&format!("/scim/v2/Users/{id}"), &token)).await;
        assert_problem(&call(&app, get(&by_id, &admin)).await, 404);
    });
});

store_test!(
    scim_managed_is_set_by_the_first_write_unless_an_operator_chose,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (_, token) = h.acme();
            let admin = h.admin_token(None);
            let app = h.admin_app().await;
            let org = || get("/admin/v1/orgs/acme", &admin);
            assert_eq!(call(&app, org()).await.body["scimManaged"], false);
            // Reads do not count.
            call(&app, get("/scim/v2/Users", &token)).await;
            assert_eq!(call(&app, org()).await.body["scimManaged"], false);
            call(&app, post("/scim/v2/Users", &token, &user("a"))).await;
            assert_eq!(call(&app, org()).await.body["scimManaged"], true);

            let set = |value: Value| {
                with_token(
                    test::TestRequest::patch().uri("/admin/v1/orgs/acme"),
                    &admin,
                )
                .insert_header(("Content-Type", "application/json"))
                .set_payload(json!({ "scimManaged": value }).to_string())
            };
            assert_eq!(
                call(&app, set(json!(false))).await.body["scimManaged"],
                false
            );
            // The operator's choice stays through later writes.
            call(&app, post("/scim/v2/Users", &token, &user("b"))).await;
            assert_eq!(call(&app, org()).await.body["scimManaged"], false);
            let feed = call(&app, get(FEED, &admin)).await;
            assert_eq!(feed.body["scimManaged"], false);
            // Unset, the next write sets it again.
            call(&app, set(Value::Null)).await;
            call(&app, post("/scim/v2/Users", &token, &user("c"))).await;
            assert_eq!(call(&app, org()).await.body["scimManaged"], true);

            assert_problem(&call(&app, set(json!("yes"))).await, 400);
            let empty = with_token(
                test::TestRequest::patch().uri("/admin/v1/orgs/acme"),
                &admin,
            )
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{}");
            assert_problem(&call(&app, empty).await, 400);
        });
    }
);

store_test!(webhooks_are_managed_through_the_api, |store| {
    run(async {
        let config = ServerConfig {
            webhooks: scim_server::WebhookConfig {
                enabled: false,
                ..Default::default()
            },
            ..ServerConfig::default()
        };
        let h = Harness::with(&store, config, crate::test_verifier());
        let (_, scim_token) = h.acme();
        let admin = h.admin_token(None);
        let app = h.admin_app().await;
        let add = |body: Value| {
            with_token(
                test::TestRequest::post().uri("/admin/v1/orgs/acme/webhooks"),
                &admin,
            )
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string())
        };
        let created = call(
            &app,
            add(json!({"url": "https://hooks.example.com/scim", "events": ["deactivated"]})),
        )
        .await;
        assert_eq!(created.status, 201, "{created:?}");
        let secret = created.body["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(created.body["events"], json!(["deactivated"]));

        let listed = call(&app, get("/admin/v1/orgs/acme/webhooks", &admin)).await;
        let first = &listed.body["webhooks"][0];
        assert_eq!(first["id"], json!(id));
        assert_eq!(first["pendingEvents"], 0);
        // With no worker running, writes wait in its backlog.
        for name in ["a", "b"] {
            call(&app, post("/scim/v2/Users", &scim_token, &user(name))).await;
        }
        let path = format!("/admin/v1/orgs/acme/webhooks/{id}");
        let status = call(&app, get(&path, &admin)).await;
        assert_eq!(status.body["pendingEvents"], 2, "{status:?}");
        assert!(status.body["lagSeconds"].is_u64(), "{status:?}");
        assert!(first.get("secret").is_none(), "a secret is shown only once");

        let path = format!("/admin/v1/orgs/acme/webhooks/{id}");
        let rotate = with_token(
            test::TestRequest::post().uri(&format!("{path}/rotate-secret")),
            &admin,
        );
        let rotated = call(&app, rotate).await;
        assert_ne!(rotated.body["secret"], json!(secret));

        for bad in [
            json!({"url": "ftp://x/"}),
            json!({"url": "https://x/", "events": ["nope"]}),
            json!({"url": "https://x/", "events": []}),
            json!({"url": "https://x/", "extra": 1}),
            json!({}),
        ] {
            assert_problem(&call(&app, add(bad)).await, 400);
        }
        let remove = with_token(test::TestRequest::delete().uri(&path), &admin);
        assert_eq!(call(&app, remove).await.status, 204);
        assert_problem(&call(&app, get(&path, &admin)).await, 404);
    });
});

store_test!(
    organisations_tokens_and_the_audit_trail_through_the_api,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let acme = h.org("acme");
            let admin = h.admin_token(None);
            let limited = h.admin_token(Some(vec![acme]));
            let app = h.admin_app().await;
            let send = |method: actix_web::http::Method, path: &str, token: &str, body: Value| {
                with_token(test::TestRequest::default().method(method).uri(path), token)
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(body.to_string())
            };
            use actix_web::http::Method;

            // Organisations.
            let created = call(
                &app,
                send(
                    Method::POST,
                    "/admin/v1/orgs",
                    &admin,
                    json!({"name": "globex"}),
                ),
            )
            .await;
            assert_eq!(created.status, 201, "{created:?}");
            assert_eq!(created.body["name"], "globex");
            let again = call(
                &app,
                send(
                    Method::POST,
                    "/admin/v1/orgs",
                    &admin,
                    json!({"name": "globex"}),
                ),
            )
            .await;
            assert_problem(&again, 409);
            let denied = call(
                &app,
                send(
                    Method::POST,
                    "/admin/v1/orgs",
                    &limited,
                    json!({"name": "x"}),
                ),
            )
            .await;
            assert_problem(&denied, 403);
            for bad in [
                json!({"name": ""}),
                json!({"name": "a/b"}),
                json!({}),
                json!({"name": "x", "y": 1}),
            ] {
                assert_problem(
                    &call(&app, send(Method::POST, "/admin/v1/orgs", &admin, bad)).await,
                    400,
                );
            }

            // SCIM tokens: created once, used, listed without secrets, revoked.
            let tokens = "/admin/v1/orgs/acme/tokens";
            let made = call(
                &app,
                send(
                    Method::POST,
                    tokens,
                    &limited,
                    json!({"name": "okta", "expiresIn": 86400}),
                ),
            )
            .await;
            assert_eq!(made.status, 201, "{made:?}");
            let scim_token = made.body["token"].as_str().unwrap().to_owned();
            let id = made.body["id"].as_str().unwrap().to_owned();
            assert!(made.body["expiresAt"].is_string());
            let taken = call(
                &app,
                send(Method::POST, tokens, &limited, json!({"name": "okta"})),
            )
            .await;
            assert_problem(&taken, 409);
            assert_problem(
                &call(
                    &app,
                    send(Method::POST, tokens, &limited, json!({"name": " "})),
                )
                .await,
                400,
            );
            assert_problem(
                &call(
                    &app,
                    send(
                        Method::POST,
                        tokens,
                        &limited,
                        json!({"name": "z", "expiresIn": 0}),
                    ),
                )
                .await,
                400,
            );
            let created = call(&app, post("/scim/v2/Users", &scim_token, &user("bjensen"))).await;
            assert_eq!(created.status, 201);
            let user_id = created.body["id"].as_str().unwrap().to_owned();
            let listed = call(&app, get(tokens, &limited)).await;
            assert_eq!(listed.body["tokens"][0]["id"], json!(id));
            assert!(
                !listed.body.to_string().contains(&scim_token[22..]),
                "no secret listed"
            );
            // A SCIM token is no admin credential here either.
            assert_problem(&call(&app, get(tokens, &scim_token)).await, 401);

            // The audit trail, filtered.
            let audit = |query: &str| get(&format!("/admin/v1/orgs/acme/audit?{query}"), &limited);
            let by_resource = call(&app, audit(&format!("resourceId={user_id}"))).await;
            assert_eq!(kinds(&by_resource), ["created"]);
            assert_eq!(by_resource.body["events"][0]["tokenId"], json!(id));
            let by_token = call(&app, audit(&format!("tokenId={id}&resourceType=User"))).await;
            assert_eq!(kinds(&by_token), ["created"]);
            let none = call(&app, audit("resourceType=Group")).await;
            assert_eq!(none.body["events"], json!([]));
            let future = call(&app, audit("since=2999-01-01T00:00:00Z")).await;
            assert_eq!(future.body["events"], json!([]));
            let past = call(&app, audit("until=2000-01-01T00:00:00Z")).await;
            assert_eq!(past.body["events"], json!([]));
            for bad in [
                "since=yesterday",
                "resourceType=Agent",
                "limit=0",
                "after=-1",
                "nope=1",
            ] {
                assert_problem(&call(&app, audit(bad)).await, 400);
            }

            let revoke = with_token(
                test::TestRequest::delete().uri(&format!("{tokens}/{id}")),
                &limited,
            );
            assert_eq!(call(&app, revoke).await.status, 204);
            call(&app, get("/scim/v2/Users", &scim_token))
                .await
                .assert_error(401);
            let missing = with_token(
                test::TestRequest::delete().uri(&format!("{tokens}/nope")),
                &limited,
            );
            assert_problem(&call(&app, missing).await, 404);
        });
    }
);

store_test!(the_console_is_served_with_a_strict_policy, |store| {
    run(async {
        let _ = store;
        let app = test::init_service(App::new().service(scim_server::console())).await;
        for (path, kind) in [
            ("/admin/", "text/html"),
            ("/admin/app.js", "text/javascript"),
            ("/admin/app.css", "text/css"),
        ] {
            let response =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(response.status(), 200, "{path}");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert!(header("content-type").starts_with(kind), "{path}");
            assert_eq!(header("content-security-policy"), scim_server::CONSOLE_CSP);
            assert_eq!(header("x-frame-options"), "DENY");
            assert_eq!(header("cache-control"), "no-store");
        }
        let bare =
            test::call_service(&app, test::TestRequest::get().uri("/admin").to_request()).await;
        assert_eq!(bare.status(), 301);
        // The script never writes markup from data, and keeps the token out of local storage.
        let script = include_str!("../../console/app.js");
        assert!(!script.contains("innerHTML") && !script.contains("localStorage"));
    });
});
