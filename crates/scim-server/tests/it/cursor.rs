//! RFC 9865 cursor paging over HTTP: `cursor` and `count` on every resource endpoint and in
//! `/.search` bodies, `nextCursor` on every page but the last, cursors bound to their
//! organisation and query, tamper-evident and expiring, and the `pagination` block of
//! `/ServiceProviderConfig`.

use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use scim_server::ServerConfig;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, percent_encode, post, run, test_verifier, Harness, Reply};

fn user(user_name: &str, i: usize) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
    });
    if !i.is_multiple_of(3) {
        body["displayName"] = json!(format!("Team {}", i % 4));
    }
    if !i.is_multiple_of(4) {
        body["emails"] = json!([
            {"value": format!("{user_name}@example.com"), "type": "work", "primary": i.is_multiple_of(2)},
            {"value": format!("z{}@example.net", i % 5), "type": "home"},
        ]);
    }
    body
}

async fn seed<S, B>(app: &S, token: &str, users: usize)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for i in 0..users {
        let name = format!("user{:02}", (i * 7) % users);
        let reply = call(app, post("/scim/v2/Users", token, &user(&name, i))).await;
        assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    }
    for name in ["admins", "staff"] {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
        });
        let reply = call(app, post("/scim/v2/Groups", token, &body)).await;
        assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {reply:?}"))
        .iter()
        .map(|resource| resource["id"].as_str().unwrap().to_owned())
        .collect()
}

/// RFC 9865 §2's page: `totalResults`, `itemsPerPage`, no `startIndex`; returns `nextCursor`.
fn cursor_page(reply: &Reply, total: usize) -> Option<String> {
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_eq!(reply.body["totalResults"], json!(total), "{reply:?}");
    assert!(reply.body.get("startIndex").is_none(), "{reply:?}");
    assert!(reply.body.get("previousCursor").is_none(), "{reply:?}");
    assert_eq!(
        reply.body["itemsPerPage"],
        json!(ids(reply).len()),
        "{reply:?}"
    );
    reply.body.get("nextCursor").map(|next| {
        let next = next.as_str().unwrap().to_owned();
        // RFC 9865 §2: only RFC 3986 unreserved characters.
        assert!(
            next.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)),
            "{next}"
        );
        next
    })
}

/// Every resource of `GET {path}?{query}`, walked by cursor `count` at a time.
async fn walk<S, B>(app: &S, token: &str, path: &str, query: &str, count: usize) -> Vec<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut total = None;
    loop {
        let uri = format!("{path}?{query}&count={count}&cursor={cursor}");
        let reply = call(app, get(&uri, token)).await;
        let page_total = reply.body["totalResults"].as_u64().unwrap_or_default();
        let total = *total.get_or_insert(page_total);
        let next = cursor_page(&reply, usize::try_from(total).unwrap());
        let page = ids(&reply);
        assert!(page.len() <= count, "{reply:?}");
        seen.extend(page);
        match next {
            Some(next) => cursor = next,
            None => break,
        }
        assert!(seen.len() <= 1_000, "the walk does not end");
    }
    seen
}

// RFC 9865 §2 and §2.2: a cursor walk shows exactly the index-paged list, in its order, for
// the default order and for sorts by a unique name (both ways), an attribute some resources
// lack and a multi-valued one, filtered or not; on Groups too.
store_test!(cursor_walk_equals_index_paging, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        seed(&app, &token, 23).await;
        let queries = [
            "",
            "sortBy=userName",
            "sortBy=userName&sortOrder=descending",
            "sortBy=displayName",
            "sortBy=displayName&sortOrder=descending",
            "sortBy=emails",
            "sortBy=emails.value&sortOrder=descending",
            "filter=displayName%20pr",
            "filter=emails.value%20co%20%22z1%22%20or%20userName%20sw%20%22user1%22&sortBy=displayName",
        ];
        for query in queries {
            let indexed = call(
                &app,
                get(&format!("/scim/v2/Users?{query}&count=1000"), &token),
            )
            .await;
            assert_eq!(indexed.status.as_u16(), 200, "{indexed:?}");
            let indexed = ids(&indexed);
            assert!(!indexed.is_empty(), "{query}");
            for count in [1, 4, 50] {
                let walked = walk(&app, &token, "/scim/v2/Users", query, count).await;
                assert_eq!(walked, indexed, "{query}, count={count}");
            }
        }
        let groups = walk(&app, &token, "/scim/v2/Groups", "sortBy=displayName", 1).await;
        assert_eq!(groups.len(), 2);

        // `?cursor` with no value is the first page, as in RFC 9865 §2's example.
        let reply = call(&app, get("/scim/v2/Users?cursor&count=20", &token)).await;
        assert!(cursor_page(&reply, 23).is_some());
        // Without a cursor, index paging is the default (§2.3) and nothing changes.
        let reply = call(&app, get("/scim/v2/Users?count=2", &token)).await;
        assert_eq!(reply.body["startIndex"], json!(1), "{reply:?}");
        assert!(reply.body.get("nextCursor").is_none(), "{reply:?}");
        // A count above maxPageSize gets a page of maxPageSize, not an error.
        let reply = call(&app, get("/scim/v2/Users?cursor=&count=100000", &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        // count=0: no resources, and a cursor to go on from the start.
        let reply = call(&app, get("/scim/v2/Users?cursor=&count=0", &token)).await;
        let next = cursor_page(&reply, 23).unwrap();
        let reply = call(
            &app,
            get(&format!("/scim/v2/Users?cursor={next}&count=100"), &token),
        )
        .await;
        assert_eq!(ids(&reply).len(), 23);
        assert!(cursor_page(&reply, 23).is_none());
    });
});

// RFC 9865 §3: the cursor in a `/.search` body, at an endpoint and at the root, where the walk
// goes through Users and then Groups as the root's index listing does.
store_test!(cursor_in_search_bodies, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        seed(&app, &token, 9).await;
        for (path, filter) in [
            ("/scim/v2/Users/.search", None),
            ("/scim/v2/.search", None),
            ("/scim/v2/.search", Some("displayName pr")),
        ] {
            let mut body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "count": 1000,
                "startIndex": 1,
            });
            if let Some(filter) = filter {
                body["filter"] = json!(filter);
            }
            let indexed = call(&app, post(path, &token, &body)).await;
            let total = indexed.body["totalResults"].as_u64().unwrap();
            let indexed = ids(&indexed);
            assert_eq!(indexed.len(), usize::try_from(total).unwrap());
            for count in [1, 2, 5, 11] {
                let mut walked = Vec::new();
                let mut cursor = String::new();
                loop {
                    let mut body = body.clone();
                    body.as_object_mut().unwrap().remove("startIndex");
                    body["count"] = json!(count);
                    body["cursor"] = json!(cursor);
                    let reply = call(&app, post(path, &token, &body)).await;
                    let next = cursor_page(&reply, indexed.len());
                    walked.extend(ids(&reply));
                    match next {
                        Some(next) => cursor = next,
                        None => break,
                    }
                    assert!(walked.len() <= 100, "the walk does not end");
                }
                assert_eq!(walked, indexed, "{path} {filter:?}, count={count}");
            }
        }
    });
});

// RFC 9865 §2.1 and §5: a cursor works only for its organisation and its query; a changed
// byte, a cursor of another endpoint, filter or sort, or of another organisation is
// `invalidCursor`, the same answer whatever the reason; a negative count is `invalidCount`;
// `cursor` with `startIndex` asks for two paging methods (§2.3) and is refused.
store_test!(cursor_refusals, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let other = harness.org("globex");
        let (other_token, _) = harness.token(other, "entra");
        let app = harness.app().await;
        seed(&app, &token, 5).await;
        seed(&app, &other_token, 5).await;
        let first = |query: &str| get(&format!("/scim/v2/Users?{query}"), &token);
        let reply = call(
            &app,
            first("filter=userName%20pr&sortBy=userName&count=2&cursor="),
        )
        .await;
        let next = cursor_page(&reply, 5).unwrap();
        // The same query goes on.
        let reply = call(
            &app,
            first(&format!(
                "filter=userName%20pr&sortBy=userName&count=2&cursor={next}"
            )),
        )
        .await;
        cursor_page(&reply, 5);

        let mut flipped = next.clone().into_bytes();
        let middle = flipped.len() / 2;
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let truncated = &next[..next.len() - 1];
        let huge = "A".repeat(30_000);
        let invalid = [
            format!("/scim/v2/Users?filter=userName%20pr&sortBy=userName&cursor={flipped}"),
            format!("/scim/v2/Users?filter=userName%20pr&sortBy=userName&cursor={truncated}"),
            format!("/scim/v2/Users?filter=userName%20pr&sortBy=userName&cursor={huge}"),
            format!(
                "/scim/v2/Users?filter=userName%20pr&sortBy=userName&cursor={}",
                percent_encode("not a cursor!")
            ),
            // Another filter, another sort key, another direction, no sort.
            format!("/scim/v2/Users?filter=displayName%20pr&sortBy=userName&cursor={next}"),
            format!("/scim/v2/Users?filter=userName%20pr&sortBy=displayName&cursor={next}"),
            format!(
                "/scim/v2/Users?filter=userName%20pr&sortBy=userName&sortOrder=descending&cursor={next}"
            ),
            format!("/scim/v2/Users?filter=userName%20pr&cursor={next}"),
            // Another endpoint.
            format!("/scim/v2/Groups?filter=userName%20pr&sortBy=userName&cursor={next}"),
        ];
        for uri in &invalid {
            let reply = call(&app, get(uri, &token)).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["scimType"],
                json!("invalidCursor"),
                "{uri}: {reply:?}"
            );
        }
        // Organisation A's cursor in organisation B's hands.
        let reply = call(
            &app,
            get(
                &format!("/scim/v2/Users?filter=userName%20pr&sortBy=userName&cursor={next}"),
                &other_token,
            ),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidCursor"), "{reply:?}");
        // A /.search body with another endpoint's cursor.
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName pr",
            "sortBy": "userName",
            "cursor": next,
        });
        let reply = call(&app, post("/scim/v2/.search", &token, &body)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidCursor"), "{reply:?}");

        for (query, scim_type) in [
            ("cursor=&count=-1", "invalidCount"),
            ("cursor=&count=ten", "invalidCount"),
            ("cursor=&startIndex=1", "invalidValue"),
            (&format!("cursor={next}&startIndex=3"), "invalidValue"),
        ] {
            let reply = call(&app, first(query)).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["scimType"],
                json!(scim_type),
                "{query}: {reply:?}"
            );
        }
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "cursor": "",
            "count": -5,
        });
        let reply = call(&app, post("/scim/v2/Users/.search", &token, &body)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidCount"), "{reply:?}");
    });
});

// RFC 9865 §2.1 and §4: a cursor older than cursorTimeout is `expiredCursor`.
store_test!(cursor_expires_after_cursor_timeout, |store| {
    run(async {
        let config = ServerConfig {
            cursor_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        seed(&app, &token, 3).await;
        let reply = call(&app, get("/scim/v2/Users?cursor=&count=1", &token)).await;
        let next = cursor_page(&reply, 3).unwrap();
        let uri = format!("/scim/v2/Users?cursor={next}&count=1");
        let reply = call(&app, get(&uri, &token)).await;
        cursor_page(&reply, 3);
        actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
        let reply = call(&app, get(&uri, &token)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("expiredCursor"), "{reply:?}");
        // A tampered old cursor is invalid, not expired: the MAC is checked first.
        let mut flipped = next.into_bytes();
        let middle = flipped.len() / 2;
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        let tampered = format!(
            "/scim/v2/Users?cursor={}&count=1",
            String::from_utf8(flipped).unwrap()
        );
        let reply = call(&app, get(&tampered, &token)).await;
        assert_eq!(reply.body["scimType"], json!("invalidCursor"), "{reply:?}");
    });
});

// RFC 9865 §4: the `pagination` block of /ServiceProviderConfig.
store_test!(cursor_pagination_in_service_provider_config, |store| {
    run(async {
        let config = ServerConfig {
            default_page_size: 50,
            max_page_size: 500,
            cursor_timeout: Duration::from_secs(900),
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let reply = call(&app, get("/scim/v2/ServiceProviderConfig", &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(
            reply.body["pagination"],
            json!({
                "cursor": true,
                "index": true,
                "defaultPaginationMethod": "index",
                "defaultPageSize": 50,
                "maxPageSize": 500,
                "cursorTimeout": 900,
            }),
            "{reply:?}"
        );
    });
});
