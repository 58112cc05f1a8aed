//! Hostile input through the real service, on both backends (issue 9): values PostgreSQL cannot
//! store, requests RFC 7644 refuses, and sizes past the configured limits. Every answer is the
//! §3.12 error object with its status and `scimType`, never a 500, and a refused request
//! changes nothing.

use scim_server::{Limits, ServerConfig};
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, patch, percent_encode, post, put, run, test_verifier, Harness, Reply};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Asserts a §3.12 error of `status` and `scim_type`.
fn assert_refused(reply: &Reply, status: u16, scim_type: Option<&str>) {
    reply.assert_error(status);
    assert_eq!(
        reply.body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{reply:?}"
    );
}

/// `len` letters that PostgreSQL cannot compress into a btree entry (a run of one letter it
/// can: `"u".repeat(3000)` fits an index, 3,000 of these do not).
fn incompressible(len: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + u8::try_from((state >> 33) % 26).unwrap_or(0))
        })
        .collect()
}

fn bjensen() -> Value {
    json!({"schemas": [USER], "userName": "bjensen", "nickName": "Babs",
           "emails": [{"value": "bjensen@example.com", "type": "work"}]})
}

// RFC 7643 §2.3.1 strings are Unicode, but PostgreSQL's `text` cannot hold U+0000 (a 500
// there, stored on SQLite). RFC 7644 §3.12: "invalidValue: ... the value specified was not
// compatible with the operation or attribute type". RFC 8265 §3.1 / RFC 8264 §9.11: a
// username (PRECIS IdentifierClass) holds no control character (category Cc).
store_test!(nul_and_control_characters_are_refused, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for body in [
            json!({"schemas": [USER], "userName": "b\u{0}jensen"}),
            json!({"schemas": [USER], "userName": "bjensen", "nickName": "x\u{0}"}),
            json!({"schemas": [USER], "userName": "bjensen",
                   "emails": [{"value": "b\u{0}@example.com"}]}),
            json!({"schemas": [USER], "userName": "bj\tensen"}),
            json!({"schemas": [USER], "userName": "bjensen\u{7f}"}),
        ] {
            let reply = call(&app, post("/scim/v2/Users", &token, &body)).await;
            assert_refused(&reply, 400, Some("invalidValue"));
        }
        let created = call(&app, post("/scim/v2/Users", &token, &bjensen())).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());

        let mut nul = bjensen();
        nul["name"] = json!({"givenName": "Bar\u{0}bara"});
        let reply = call(&app, put(&path, &token, &nul)).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        for operations in [
            json!([{"op": "replace", "path": "nickName", "value": "\u{0}"}]),
            json!([{"op": "add", "path": "emails", "value": [{"value": "\u{0}"}]}]),
            json!([{"op": "replace", "value": {"title": "a\u{0}"}}]),
            json!([{"op": "replace", "path": "userName", "value": "bj\r\nensen"}]),
        ] {
            let reply = call(&app, patch(&path, &token, operations)).await;
            assert_refused(&reply, 400, Some("invalidValue"));
        }
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body["meta"]["version"], json!("W/\"1\""), "{read:?}");
        assert_eq!(read.body["nickName"], json!("Babs"));

        // A group's members go to rows, outside the PATCH engine: still refused.
        let group = json!({"schemas": [GROUP], "displayName": "Admins",
                           "members": [{"value": "x\u{0}"}]});
        let reply = call(&app, post("/scim/v2/Groups", &token, &group)).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let group = json!({"schemas": [GROUP], "displayName": "Admins"});
        let created = call(&app, post("/scim/v2/Groups", &token, &group)).await;
        let group_path = format!("/scim/v2/Groups/{}", created.body["id"].as_str().unwrap());
        let reply = call(
            &app,
            patch(
                &group_path,
                &token,
                json!([{"op": "add", "path": "members", "value": [{"value": "u\u{0}1"}]}]),
            ),
        )
        .await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let reply = call(
            &app,
            patch(
                &group_path,
                &token,
                json!([{"op": "remove", "path": "members[value eq \"\\u0000\"]"}]),
            ),
        )
        .await;
        assert_refused(&reply, 400, Some("invalidPath"));
    });
});

// RFC 7644 §3.4.2.2 filters compare values, and no value holds U+0000: a literal holding it is
// `invalidFilter` (§3.12: "The specified filter syntax was invalid ... or the specified
// attribute and filter comparison combination is not supported"), on both backends alike.
store_test!(nul_in_a_filter_is_invalid_filter, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for filter in [
            r#"userName eq "b\u0000""#,
            "userName eq \"b\u{0}\"",
            "externalId eq a\u{0}b",
            r#"emails[value co "\u0000"]"#,
        ] {
            let uri = format!("/scim/v2/Users?filter={}", percent_encode(filter));
            let reply = call(&app, get(&uri, &token)).await;
            assert_refused(&reply, 400, Some("invalidFilter"));
            let body = json!({"schemas": [SEARCH], "filter": filter});
            for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
                let reply = call(&app, post(path, &token, &body)).await;
                assert_refused(&reply, 400, Some("invalidFilter"));
            }
        }
    });
});

// RFC 7644 §3.5.2.1: "The operation MUST contain a "value" member whose content specifies the
// value to be added." An add without one is 400 invalidValue and changes nothing (it used to
// clear the attribute).
store_test!(add_without_a_value_is_refused, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let created = call(&app, post("/scim/v2/Users", &token, &bjensen())).await;
        let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
        for operations in [
            json!([{"op": "add", "path": "nickName"}]),
            json!([{"op": "add", "path": "emails", "value": null}]),
            json!([{"op": "replace", "path": "title", "value": "x"},
                   {"op": "Add", "path": "emails[type eq \"work\"].value"}]),
        ] {
            let reply = call(&app, patch(&path, &token, operations)).await;
            assert_refused(&reply, 400, Some("invalidValue"));
        }
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body["meta"]["version"], json!("W/\"1\""), "{read:?}");
        assert_eq!(read.body["nickName"], json!("Babs"));
        assert!(read.body.get("title").is_none());
    });
});

// The default limits (docs/operator.md): a value PostgreSQL cannot index (a 3 KB userName
// was a 500 there), too many values, operations, names or filter nodes are 400 with the §3.12
// body; a stored resource above 256 KiB is 413 ("Request payload too large").
store_test!(default_limits_answer_with_the_error_object, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let long_name = json!({"schemas": [USER], "userName": incompressible(3000)});
        let reply = call(&app, post("/scim/v2/Users", &token, &long_name)).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let long_name = json!({"schemas": [GROUP], "displayName": incompressible(3000)});
        let reply = call(&app, post("/scim/v2/Groups", &token, &long_name)).await;
        assert_refused(&reply, 400, Some("invalidValue"));

        let emails: Vec<Value> = (0..1001)
            .map(|i| json!({"value": format!("u{i}@example.com")}))
            .collect();
        let mut many = bjensen();
        many["emails"] = json!(emails);
        let reply = call(&app, post("/scim/v2/Users", &token, &many)).await;
        assert_refused(&reply, 400, Some("invalidValue"));

        // 20 addresses of 15,000 bytes each: every string within its limit, the resource not.
        let mut big = bjensen();
        big["addresses"] = (0..20)
            .map(|i| json!({"formatted": format!("{i}{}", "a".repeat(15_000))}))
            .collect();
        let reply = call(&app, post("/scim/v2/Users", &token, &big)).await;
        assert_refused(&reply, 413, None);

        let created = call(&app, post("/scim/v2/Users", &token, &bjensen())).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
        let reply = call(&app, put(&path, &token, &big)).await;
        assert_refused(&reply, 413, None);
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "add", "value": {"addresses": big["addresses"]}}]),
            ),
        )
        .await;
        assert_refused(&reply, 413, None);
        let operations: Vec<Value> = (0..1001)
            .map(|i| json!({"op": "replace", "path": "nickName", "value": format!("n{i}")}))
            .collect();
        let reply = call(&app, patch(&path, &token, json!(operations))).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body["meta"]["version"], json!("W/\"1\""), "{read:?}");

        // 80,000 copies of one name (what fits in the 1 MiB body): refused at the count, never
        // resolved one by one.
        let body = json!({"schemas": [SEARCH], "attributes": vec!["userName"; 80_000]});
        let reply = call(&app, post("/scim/v2/Users/.search", &token, &body)).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let names = vec!["userName"; 200].join(",");
        let reply = call(
            &app,
            get(&format!("/scim/v2/Users?attributes={names}"), &token),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let filter = vec!["userName pr"; 1001].join(" or ");
        let body = json!({"schemas": [SEARCH], "filter": filter});
        let reply = call(&app, post("/scim/v2/Users/.search", &token, &body)).await;
        assert_refused(&reply, 400, Some("invalidFilter"));
    });
});

// ServerConfig::limits is the operator's: a lower bound applies to every endpoint, except that
// a group's members are bounded by max_member_values.
store_test!(configured_limits_apply, |store| {
    run(async {
        let config = ServerConfig {
            limits: Limits {
                max_values: 2,
                max_string_bytes: 100,
                ..Limits::default()
            },
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let mut three = bjensen();
        three["phoneNumbers"] = json!([{"value": "1"}, {"value": "2"}, {"value": "3"}]);
        let reply = call(&app, post("/scim/v2/Users", &token, &three)).await;
        assert_refused(&reply, 400, Some("invalidValue"));
        let mut long = bjensen();
        long["title"] = json!("t".repeat(101));
        let reply = call(&app, post("/scim/v2/Users", &token, &long)).await;
        assert_refused(&reply, 400, Some("invalidValue"));

        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            let user = json!({"schemas": [USER], "userName": name});
            let reply = call(&app, post("/scim/v2/Users", &token, &user)).await;
            ids.push(json!({"value": reply.body["id"]}));
        }
        let group = json!({"schemas": [GROUP], "displayName": "Three", "members": ids});
        let reply = call(&app, post("/scim/v2/Groups", &token, &group)).await;
        assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    });
});

// An id with a NUL names no resource (PostgreSQL text cannot even hold it): every method on
// `/{endpoint}/{id}` answers the §3.12 404, on both backends, not a 500.
store_test!(a_nul_in_a_path_id_is_not_found, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for endpoint in ["Users", "Groups"] {
            let path = format!("/scim/v2/{endpoint}/a%00b");
            call(&app, get(&path, &token)).await.assert_error(404);
            let body = json!({"schemas": [USER], "userName": "x"});
            call(&app, put(&path, &token, &body))
                .await
                .assert_error(404);
            let ops = json!([{"op": "replace", "path": "displayName", "value": "x"}]);
            call(&app, patch(&path, &token, ops))
                .await
                .assert_error(404);
            call(&app, crate::delete(&path, &token))
                .await
                .assert_error(404);
        }
    })
});

// RFC 7644 §3.4.2.3: sorting by a multi-valued attribute without sub-attributes (`schemas`)
// sorts by its first value; SQLite's COALESCE refused the one-argument form this once built.
store_test!(sorting_by_a_simple_multi_valued_attribute_works, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let body = json!({"schemas": [USER], "userName": "a"});
        assert_eq!(
            call(&app, post("/scim/v2/Users", &token, &body))
                .await
                .status,
            201
        );
        for order in ["ascending", "descending"] {
            let path = format!("/scim/v2/Users?sortBy=schemas&sortOrder={order}");
            let reply = call(&app, get(&path, &token)).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.body["totalResults"], json!(1));
        }
    })
});
