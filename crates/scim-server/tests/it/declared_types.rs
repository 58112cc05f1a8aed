//! Resource types declared as data (RFC 7643 §6 resource types with §7 schemas of their own),
//! served at endpoints of their own: the shipped agent drafts (docs/schemas/agents, Agent at
//! /Agents and AgenticApplication at /AgenticApplications) through CRUD, uniqueness, filter,
//! sort and paging, references, errors, discovery, events and Bulk, on both backends.

use actix_web::test::TestRequest;
use scim_model::schema::Declarations;
use scim_server::ServerConfig;
use scim_store::events::{self, EventFilter, ResourceType};
use scim_store::OrgId;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, delete, get, id_of, list_of, patch, percent_encode, post, put, run, test_verifier,
    Harness, Reply,
};

const AGENT: &str = "urn:ietf:params:scim:schemas:core:2.0:Agent";
const APPLICATION: &str = "urn:ietf:params:scim:schemas:core:2.0:AgenticApplication";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const AGENTS: &str = "/scim/v2/Agents";
const APPLICATIONS: &str = "/scim/v2/AgenticApplications";

/// The shipped files of docs/schemas/agents, each added as it is on disk.
fn declarations() -> Declarations {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schemas/agents");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 5, "{paths:?}");
    let mut declared = Declarations::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let source = path.file_name().unwrap().to_str().unwrap().to_owned();
        declared.add_document(&source, &document).unwrap();
    }
    declared
}

fn harness(store: &scim_store::Store) -> Harness {
    let config = ServerConfig {
        declarations: declarations(),
        ..ServerConfig::default()
    };
    Harness::with(store, config, test_verifier())
}

fn agent(name: &str, rest: Value) -> Value {
    let mut body = json!({"schemas": [AGENT], "name": name});
    for (key, value) in rest.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn application(name: &str, rest: Value) -> Value {
    let mut body = json!({"schemas": [APPLICATION], "name": name});
    for (key, value) in rest.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name})
}

/// The path of an agent.
fn agent_path(id: &str) -> String {
    format!("{AGENTS}/{id}")
}

/// Sends `req` and asserts `201 Created`; returns the reply.
async fn created<S, B>(app: &S, req: TestRequest) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = call(app, req).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply
}

/// The service's base URL, as a resource's `meta.location` shows it (`{base}/{endpoint}/{id}`).
fn base_of(body: &Value) -> String {
    let location = body["meta"]["location"].as_str().unwrap();
    let endpoint_and_id = format!(
        "/{}/{}",
        location.rsplit('/').nth(1).unwrap(),
        body["id"].as_str().unwrap()
    );
    location.strip_suffix(&endpoint_and_id).unwrap().to_owned()
}

/// The `name`s of a list's resources, in order.
fn names(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The `value`s of the roles of an agent, in order.
fn role_values(body: &Value) -> Vec<&str> {
    body["roles"]
        .as_array()
        .map(|roles| roles.iter().map(|r| r["value"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

// RFC 7644 §3.3 (create, 201 with Location and ETag), §3.4.1 (retrieve), §3.5.1 (PUT replaces),
// §3.5.2 (PATCH add, replace, remove by a value filter), §3.6 (DELETE 204, then 404); RFC 7643
// §3.1 (meta). Resources of one type are not found at another type's endpoint.
store_test!(agents_have_full_crud_at_their_endpoint, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let body = agent(
            "helper",
            json!({"displayName": "Helper", "agentType": "Assistant", "active": true,
                   "description": "answers questions", "roles": [{"value": "reader"}]}),
        );
        let made = created(&app, post(AGENTS, &token, &body)).await;
        let id = id_of(&made);
        let path = agent_path(&id);
        assert_eq!(made.body["schemas"], json!([AGENT]), "{made:?}");
        assert_eq!(made.body["name"], "helper");
        assert_eq!(made.body["displayName"], "Helper");
        assert_eq!(made.body["agentType"], "Assistant");
        assert_eq!(made.body["active"], true);
        assert_eq!(role_values(&made.body), ["reader"]);
        assert_eq!(made.body["meta"]["resourceType"], "Agent", "{made:?}");
        let location = made.body["meta"]["location"].as_str().unwrap().to_owned();
        assert!(location.ends_with(&format!("/Agents/{id}")), "{location}");
        assert_eq!(made.header("location"), Some(location.as_str()), "{made:?}");
        assert_eq!(made.header("etag"), made.body["meta"]["version"].as_str());
        assert_eq!(made.body["meta"]["version"], "W/\"1\"");
        assert!(made.body["meta"]["created"].is_string(), "{made:?}");
        assert!(made.body["meta"]["lastModified"].is_string(), "{made:?}");

        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.status, 200, "{read:?}");
        assert_eq!(read.body, made.body);
        assert_eq!(read.header("etag"), Some("W/\"1\""));

        // PUT replaces: what the body leaves out is gone.
        let replaced = call(
            &app,
            put(
                &path,
                &token,
                &agent(
                    "helper",
                    json!({"displayName": "Helper 2", "active": false}),
                ),
            ),
        )
        .await;
        assert_eq!(replaced.status, 200, "{replaced:?}");
        assert_eq!(replaced.body["id"], id.as_str());
        assert_eq!(replaced.body["displayName"], "Helper 2");
        assert_eq!(replaced.body["active"], false);
        for gone in ["agentType", "description", "roles"] {
            assert!(replaced.body.get(gone).is_none(), "{gone}: {replaced:?}");
        }
        assert_eq!(replaced.body["meta"]["version"], "W/\"2\"");
        assert_eq!(replaced.header("etag"), Some("W/\"2\""));

        let patched = call(
            &app,
            patch(
                &path,
                &token,
                json!([
                    {"op": "replace", "path": "displayName", "value": "Patched"},
                    {"op": "add", "path": "roles", "value": [{"value": "x"}, {"value": "y"}]}
                ]),
            ),
        )
        .await;
        assert_eq!(patched.status, 200, "{patched:?}");
        assert_eq!(patched.body["displayName"], "Patched");
        assert_eq!(role_values(&patched.body), ["x", "y"]);
        let patched = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "remove", "path": "roles[value eq \"x\"]"}]),
            ),
        )
        .await;
        assert_eq!(patched.status, 200, "{patched:?}");
        assert_eq!(role_values(&patched.body), ["y"]);
        assert_eq!(patched.body["displayName"], "Patched");
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body, patched.body);

        // Types do not leak into each other.
        let user_id = id_of(&created(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await);
        call(&app, get(&format!("/scim/v2/Users/{id}"), &token))
            .await
            .assert_error(404);
        call(&app, get(&agent_path(&user_id), &token))
            .await
            .assert_error(404);
        call(&app, delete(&agent_path(&user_id), &token))
            .await
            .assert_error(404);
        let user_read = call(&app, get(&format!("/scim/v2/Users/{user_id}"), &token)).await;
        assert_eq!(user_read.status, 200, "{user_read:?}");
        // Declared types share one table: each still sees only its own resources.
        call(&app, get(&format!("{APPLICATIONS}/{id}"), &token))
            .await
            .assert_error(404);
        call(
            &app,
            put(
                &format!("{APPLICATIONS}/{id}"),
                &token,
                &application("Imposter", json!({})),
            ),
        )
        .await
        .assert_error(404);
        call(&app, delete(&format!("{APPLICATIONS}/{id}"), &token))
            .await
            .assert_error(404);
        let applications = call(&app, get(APPLICATIONS, &token)).await;
        assert!(list_of(&applications, 0).is_empty());
        let still = call(&app, get(&path, &token)).await;
        assert_eq!(still.status, 200, "{still:?}");

        let deleted = call(&app, delete(&path, &token)).await;
        assert_eq!(deleted.status, 204, "{deleted:?}");
        call(&app, get(&path, &token)).await.assert_error(404);
        let list = call(&app, get(AGENTS, &token)).await;
        assert!(list_of(&list, 0).is_empty());
    });
});

// RFC 7643 §2.1 (`uniqueness: "server"`) and RFC 7644 §3.3 and §3.12 (409 with scimType
// `uniqueness`): an agent's name is unique, case-insensitively, among the live agents only.
store_test!(agent_names_are_unique_case_insensitively, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let first = created(&app, post(AGENTS, &token, &agent("Bot", json!({})))).await;
        let clash = call(&app, post(AGENTS, &token, &agent("bot", json!({})))).await;
        let detail = clash.assert_error(409);
        assert_eq!(clash.body["scimType"], "uniqueness", "{clash:?}");
        assert_eq!(detail, "name is already taken by another Agent");
        assert_eq!(list_of(&call(&app, get(AGENTS, &token)).await, 1).len(), 1);

        // Deleted, its name is free again.
        let deleted = call(&app, delete(&agent_path(&id_of(&first)), &token)).await;
        assert_eq!(deleted.status, 204, "{deleted:?}");
        let second = created(&app, post(AGENTS, &token, &agent("bot", json!({})))).await;
        assert_eq!(second.body["name"], "bot");

        // Renaming onto a taken name, by PUT or PATCH, is refused and writes nothing.
        let other = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent("Other", json!({"displayName": "Other"})),
            ),
        )
        .await;
        let other_path = agent_path(&id_of(&other));
        let renamed = call(
            &app,
            put(
                &other_path,
                &token,
                &agent("BOT", json!({"displayName": "Renamed"})),
            ),
        )
        .await;
        renamed.assert_error(409);
        assert_eq!(renamed.body["scimType"], "uniqueness", "{renamed:?}");
        let renamed = call(
            &app,
            patch(
                &other_path,
                &token,
                json!([
                    {"op": "replace", "path": "displayName", "value": "Renamed"},
                    {"op": "replace", "path": "name", "value": "Bot"}
                ]),
            ),
        )
        .await;
        renamed.assert_error(409);
        assert_eq!(renamed.body["scimType"], "uniqueness", "{renamed:?}");
        let read = call(&app, get(&other_path, &token)).await;
        assert_eq!(read.status, 200, "{read:?}");
        assert_eq!(read.body, other.body);
        assert_eq!(read.body["name"], "Other");
        assert_eq!(read.body["displayName"], "Other");
        assert_eq!(read.body["meta"]["version"], "W/\"1\"");

        // Renaming itself to another case of its own name is no clash.
        let recased = call(
            &app,
            patch(
                &agent_path(&id_of(&second)),
                &token,
                json!([{"op": "replace", "path": "name", "value": "BOT"}]),
            ),
        )
        .await;
        assert_eq!(recased.status, 200, "{recased:?}");
        assert_eq!(recased.body["name"], "BOT");

        // Another type's names are its own.
        let app_bot = created(
            &app,
            post(APPLICATIONS, &token, &application("Bot", json!({}))),
        )
        .await;
        assert_eq!(app_bot.body["meta"]["resourceType"], "AgenticApplication");
        // AgenticApplication's name is `uniqueness: none`: the same name twice is fine.
        created(
            &app,
            post(APPLICATIONS, &token, &application("Bot", json!({}))),
        )
        .await;
        // And another organisation's agents are apart.
        let (beta_token, _) = h.token(h.org("beta"), "beta");
        created(&app, post(AGENTS, &beta_token, &agent("Bot", json!({})))).await;
    });
});

/// The agents the filter and sort test lists: name, displayName, agentType, active.
const FLEET: [(&str, &str, &str, bool); 4] = [
    ("Bot", "Support Bot", "Chat bot", true),
    ("Scout", "Research Scout", "Researcher", true),
    ("Writer", "Report Writer", "Assistant", false),
    ("Reader", "Research Reader", "Researcher", false),
];

// RFC 7644 §3.4.2.2 (filters, caseExact false compares case-insensitively per RFC 7643 §2.2),
// §3.4.2.3 (sortBy), §3.4.2.4 (startIndex and count), §3.4.3 (POST .search, at an endpoint
// and at the root across resource types).
store_test!(agents_are_filtered_sorted_paged_and_searched, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        for (name, display, kind, active) in FLEET {
            let body = agent(
                name,
                json!({"displayName": display, "agentType": kind, "active": active}),
            );
            created(&app, post(AGENTS, &token, &body)).await;
        }
        let by_display = "sortBy=displayName";
        let cases: Vec<(String, Vec<&str>)> = vec![
            (
                format!("filter={}", percent_encode("name eq \"bot\"")),
                vec!["Bot"],
            ),
            (
                format!("filter={}", percent_encode("name eq \"SCOUT\"")),
                vec!["Scout"],
            ),
            (
                format!(
                    "filter={}&{by_display}",
                    percent_encode("displayName sw \"research\"")
                ),
                vec!["Reader", "Scout"],
            ),
            (
                format!(
                    "filter={}&{by_display}",
                    percent_encode("agentType eq \"Researcher\"")
                ),
                vec!["Reader", "Scout"],
            ),
            (
                format!("filter={}&{by_display}", percent_encode("active eq true")),
                vec!["Scout", "Bot"],
            ),
            (
                format!(
                    "filter={}",
                    percent_encode("agentType eq \"researcher\" and active eq true")
                ),
                vec!["Scout"],
            ),
            (
                format!(
                    "filter={}&{by_display}",
                    percent_encode("name eq \"bot\" or name eq \"writer\"")
                ),
                vec!["Writer", "Bot"],
            ),
            (
                format!(
                    "filter={}&{by_display}",
                    percent_encode("active eq false and (name sw \"r\" or agentType eq \"x\")")
                ),
                vec!["Reader"],
            ),
            (
                by_display.to_owned(),
                vec!["Writer", "Reader", "Scout", "Bot"],
            ),
            (
                format!("{by_display}&sortOrder=descending"),
                vec!["Bot", "Scout", "Reader", "Writer"],
            ),
            (
                format!("filter={}", percent_encode("name eq \"nobody\"")),
                vec![],
            ),
        ];
        for (query, expected) in cases {
            let reply = call(&app, get(&format!("{AGENTS}?{query}"), &token)).await;
            let total = u64::try_from(expected.len()).unwrap();
            let mut found = names(&list_of(&reply, total));
            if !query.contains("sortBy") {
                found.sort();
            }
            assert_eq!(found, expected, "{query}");
        }

        // Paging: the total is of every match, the page is startIndex..startIndex+count.
        let page = call(
            &app,
            get(
                &format!("{AGENTS}?{by_display}&startIndex=2&count=2"),
                &token,
            ),
        )
        .await;
        assert_eq!(names(&list_of(&page, 4)), ["Reader", "Scout"]);
        assert_eq!(page.body["startIndex"], 2);
        let last = call(
            &app,
            get(
                &format!("{AGENTS}?{by_display}&startIndex=4&count=2"),
                &token,
            ),
        )
        .await;
        assert_eq!(names(&list_of(&last, 4)), ["Bot"]);
        let none = call(&app, get(&format!("{AGENTS}?count=0"), &token)).await;
        assert!(list_of(&none, 4).is_empty());

        // POST /Agents/.search.
        let search = json!({
            "schemas": [SEARCH_REQUEST],
            "filter": "agentType eq \"researcher\"",
            "sortBy": "displayName",
            "sortOrder": "descending",
        });
        let reply = call(&app, post(&format!("{AGENTS}/.search"), &token, &search)).await;
        assert_eq!(names(&list_of(&reply, 2)), ["Scout", "Reader"]);
        let search = json!({
            "schemas": [SEARCH_REQUEST],
            "sortBy": "displayName",
            "startIndex": 3,
            "count": 1,
            "attributes": ["name"],
        });
        let reply = call(&app, post(&format!("{AGENTS}/.search"), &token, &search)).await;
        let resources = list_of(&reply, 4);
        assert_eq!(names(&resources), ["Scout"]);
        assert!(resources[0].get("displayName").is_none(), "{reply:?}");

        // POST /.search at the root lists users and agents together.
        created(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await;
        let root = json!({"schemas": [SEARCH_REQUEST], "count": 100});
        let reply = call(&app, post("/scim/v2/.search", &token, &root)).await;
        let resources = list_of(&reply, 5);
        let mut types: Vec<&str> = resources
            .iter()
            .map(|r| r["meta"]["resourceType"].as_str().unwrap())
            .collect();
        types.sort_unstable();
        assert_eq!(
            types,
            ["Agent", "Agent", "Agent", "Agent", "User"],
            "{reply:?}"
        );
        let user = resources
            .iter()
            .find(|r| r["meta"]["resourceType"] == "User")
            .unwrap();
        assert_eq!(user["userName"], "bjensen");
        for agent in resources
            .iter()
            .filter(|r| r["meta"]["resourceType"] == "Agent")
        {
            let location = agent["meta"]["location"].as_str().unwrap();
            assert!(location.contains("/Agents/"), "{agent}");
            assert_eq!(agent["schemas"], json!([AGENT]), "{agent}");
        }
    });
});

// RFC 7643 §2.3.7 (reference) and §4.2 (the server sets `$ref` from `value`, as for a
// group's members); RFC 7644 §3.3 and §3.12 (`400 invalidValue` for a reference to nothing,
// with nothing written) and §3.5.2 (PATCH add).
store_test!(agent_references_are_checked_and_ref_is_set, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let user_id = id_of(&created(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await);
        let group_body = json!({"schemas": [GROUP], "displayName": "Ops"});
        let group_id = id_of(&created(&app, post("/scim/v2/Groups", &token, &group_body)).await);

        // An unknown id is refused and nothing is created.
        let reply = call(
            &app,
            post(
                AGENTS,
                &token,
                &agent("ghost", json!({"owners": [{"value": "no-such-id"}]})),
            ),
        )
        .await;
        let detail = reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue", "{reply:?}");
        assert_eq!(detail, "owners: no User or Group with id \"no-such-id\"");
        // A user's id is not an agent's (parent references Agent only).
        let reply = call(
            &app,
            post(
                AGENTS,
                &token,
                &agent("orphan", json!({"parent": {"value": user_id}})),
            ),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue", "{reply:?}");
        assert!(list_of(&call(&app, get(AGENTS, &token)).await, 0).is_empty());

        // A user owner.
        let owned = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent(
                    "owned",
                    json!({"owners": [{"value": user_id, "display": "Babs"}]}),
                ),
            ),
        )
        .await;
        let base = base_of(&owned.body);
        let owned_path = agent_path(&id_of(&owned));
        let read = call(&app, get(&owned_path, &token)).await;
        assert_eq!(read.status, 200, "{read:?}");
        assert_eq!(
            read.body["owners"],
            json!([{"value": user_id, "display": "Babs", "$ref": format!("{base}/Users/{user_id}")}]),
            "{read:?}"
        );
        assert_eq!(owned.body["owners"], read.body["owners"]);

        // A group owner.
        let grouped = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent("grouped", json!({"owners": [{"value": group_id}]})),
            ),
        )
        .await;
        let read = call(&app, get(&agent_path(&id_of(&grouped)), &token)).await;
        assert_eq!(
            read.body["owners"][0]["$ref"],
            json!(format!("{base}/Groups/{group_id}")),
            "{read:?}"
        );

        // A client's own `$ref` is replaced by the server's.
        let bogus = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent(
                    "bogus",
                    json!({"owners": [
                        {"value": user_id, "$ref": "https://evil.example/Users/x"},
                        {"value": group_id, "$ref": "Users/not-a-user"}
                    ]}),
                ),
            ),
        )
        .await;
        let read = call(&app, get(&agent_path(&id_of(&bogus)), &token)).await;
        assert_eq!(
            read.body["owners"],
            json!([
                {"value": user_id, "$ref": format!("{base}/Users/{user_id}")},
                {"value": group_id, "$ref": format!("{base}/Groups/{group_id}")}
            ]),
            "{read:?}"
        );

        // PATCH adding an unknown owner is refused and the agent is unchanged.
        let before = call(&app, get(&owned_path, &token)).await;
        let reply = call(
            &app,
            patch(
                &owned_path,
                &token,
                json!([
                    {"op": "replace", "path": "displayName", "value": "Changed"},
                    {"op": "add", "path": "owners", "value": [{"value": "no-such-id"}]}
                ]),
            ),
        )
        .await;
        let detail = reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue", "{reply:?}");
        assert_eq!(detail, "owners: no User or Group with id \"no-such-id\"");
        let after = call(&app, get(&owned_path, &token)).await;
        assert_eq!(after.body, before.body);
        assert_eq!(after.body["meta"]["version"], "W/\"1\"");
        // PATCH adding a real one sets its `$ref`.
        let reply = call(
            &app,
            patch(
                &owned_path,
                &token,
                json!([{"op": "add", "path": "owners", "value": [{"value": group_id}]}]),
            ),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.body["owners"][1],
            json!({"value": group_id, "$ref": format!("{base}/Groups/{group_id}")}),
            "{reply:?}"
        );

        // An agent's parent is an agent.
        let owned_id = id_of(&owned);
        let child = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent("child", json!({"parent": {"value": owned_id}})),
            ),
        )
        .await;
        assert_eq!(
            child.body["parent"],
            json!({"value": owned_id, "$ref": format!("{base}/Agents/{owned_id}")}),
            "{child:?}"
        );

        // An AgenticApplication's agents are agents.
        let hosted = created(
            &app,
            post(
                APPLICATIONS,
                &token,
                &application(
                    "Host",
                    json!({"agents": [{"value": owned_id, "type": "owned"}],
                           "lastAccessed": "2026-01-02T03:04:05Z"}),
                ),
            ),
        )
        .await;
        let read = call(
            &app,
            get(&format!("{APPLICATIONS}/{}", id_of(&hosted)), &token),
        )
        .await;
        assert_eq!(read.status, 200, "{read:?}");
        assert_eq!(
            read.body["agents"],
            json!([{"value": owned_id, "type": "owned",
                    "$ref": format!("{base}/Agents/{owned_id}")}]),
            "{read:?}"
        );
        let reply = call(
            &app,
            post(
                APPLICATIONS,
                &token,
                &application("Wrong", json!({"agents": [{"value": user_id}]})),
            ),
        )
        .await;
        let detail = reply.assert_error(400);
        assert_eq!(detail, format!("agents: no Agent with id {user_id:?}"));
    });
});

// RFC 7644 §3.12 (errors: 400 for a missing required attribute, `invalidValue` for a value of
// the wrong type, 404 for an unknown endpoint) and §3.14 (412 for a stale If-Match).
// RFC 7643 §2.3.7: a reference is checked when a write adds it. One that later names nothing
// (its user was deleted) does not block writes that keep it; a resource cannot name itself.
store_test!(dangling_references_do_not_block_other_changes, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let owner = created(&app, post("/scim/v2/Users", &token, &user("owner"))).await;
        let owner_id = id_of(&owner);
        let bot = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent("bot", json!({"owners": [{"value": owner_id}]})),
            ),
        )
        .await;
        let bot_id = id_of(&bot);
        let gone = call(&app, delete(&format!("/scim/v2/Users/{owner_id}"), &token)).await;
        assert_eq!(gone.status.as_u16(), 204);

        let renamed = call(
            &app,
            patch(
                &agent_path(&bot_id),
                &token,
                json!([{"op": "replace", "path": "displayName", "value": "Bot"}]),
            ),
        )
        .await;
        assert_eq!(renamed.status, 200, "{renamed:?}");
        assert_eq!(renamed.body["owners"], bot.body["owners"], "{renamed:?}");

        // Adding another unknown id is still refused.
        let added = call(
            &app,
            patch(
                &agent_path(&bot_id),
                &token,
                json!([{"op": "add", "path": "owners", "value": [{"value": "nobody"}]}]),
            ),
        )
        .await;
        added.assert_error(400);

        let itself = call(
            &app,
            patch(
                &agent_path(&bot_id),
                &token,
                json!([{"op": "replace", "path": "parent", "value": {"value": bot_id}}]),
            ),
        )
        .await;
        let detail = itself.assert_error(400);
        assert!(detail.contains("cannot reference itself"), "{detail}");
    });
});

store_test!(agent_errors_are_scim_errors, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let nameless = json!({"schemas": [AGENT], "displayName": "No name"});
        call(&app, post(AGENTS, &token, &nameless))
            .await
            .assert_error(400);
        let reply = call(
            &app,
            post(AGENTS, &token, &agent("typed", json!({"active": "yes"}))),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue", "{reply:?}");
        assert!(list_of(&call(&app, get(AGENTS, &token)).await, 0).is_empty());

        call(&app, get("/scim/v2/Robots", &token))
            .await
            .assert_error(404);
        call(
            &app,
            post("/scim/v2/Robots", &token, &agent("r2", json!({}))),
        )
        .await
        .assert_error(404);

        let made = created(
            &app,
            post(
                AGENTS,
                &token,
                &agent("versioned", json!({"displayName": "v1"})),
            ),
        )
        .await;
        let path = agent_path(&id_of(&made));
        let stale = made.header("etag").unwrap().to_owned();
        let bumped = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "replace", "path": "displayName", "value": "v2"}]),
            ),
        )
        .await;
        assert_eq!(bumped.status, 200, "{bumped:?}");
        let reply = call(
            &app,
            put(
                &path,
                &token,
                &agent("versioned", json!({"displayName": "v3"})),
            )
            .insert_header(("If-Match", stale.as_str())),
        )
        .await;
        reply.assert_error(412);
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body["displayName"], "v2");
        assert_eq!(read.body["meta"]["version"], "W/\"2\"");
        // The current version is accepted.
        let current = bumped.header("etag").unwrap().to_owned();
        let reply = call(
            &app,
            put(
                &path,
                &token,
                &agent("versioned", json!({"displayName": "v3"})),
            )
            .insert_header(("If-Match", current.as_str())),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], "v3");
    });
});

// RFC 7644 §4 and RFC 7643 §6 and §7: discovery lists the declared resource types with their
// endpoints and serves their schemas as declared.
store_test!(declared_types_are_discovered, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        let list = call(&app, get("/scim/v2/ResourceTypes", &token)).await;
        let types = list_of(&list, 4);
        let mut pairs: Vec<(&str, &str, &str)> = types
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap(),
                    t["endpoint"].as_str().unwrap(),
                    t["schema"].as_str().unwrap(),
                )
            })
            .collect();
        pairs.sort_unstable();
        assert_eq!(
            pairs,
            [
                ("Agent", "/Agents", AGENT),
                ("AgenticApplication", "/AgenticApplications", APPLICATION),
                ("Group", "/Groups", GROUP),
                ("User", "/Users", USER),
            ]
        );

        let one = call(&app, get("/scim/v2/ResourceTypes/Agent", &token)).await;
        assert_eq!(one.status, 200, "{one:?}");
        assert_eq!(one.body["id"], "Agent");
        assert_eq!(one.body["name"], "Agent");
        assert_eq!(one.body["endpoint"], "/Agents");
        assert_eq!(one.body["schema"], AGENT);
        assert_eq!(one.body["meta"]["resourceType"], "ResourceType");
        assert!(
            one.body["meta"]["location"]
                .as_str()
                .unwrap()
                .ends_with("/ResourceTypes/Agent"),
            "{one:?}"
        );

        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/schemas/agents/agent.schema.json"
        );
        let declared: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let schema = call(&app, get(&format!("/scim/v2/Schemas/{AGENT}"), &token)).await;
        assert_eq!(schema.status, 200, "{schema:?}");
        assert_eq!(schema.body["id"], AGENT);
        assert_eq!(schema.body["name"], "Agent");
        let attribute_names = |schema: &Value| -> Vec<String> {
            schema["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(attribute_names(&schema.body), attribute_names(&declared));
        let name = &schema.body["attributes"][0];
        assert_eq!(name["name"], "name");
        assert_eq!(name["type"], "string");
        assert_eq!(name["required"], true);
        assert_eq!(name["uniqueness"], "server");
        let owners = schema.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "owners")
            .unwrap();
        let reference = owners["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "$ref")
            .unwrap();
        assert_eq!(reference["type"], "reference");
        assert_eq!(reference["referenceTypes"], json!(["User", "Group"]));

        let all = call(&app, get("/scim/v2/Schemas", &token)).await;
        let ids: Vec<&str> = all.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&AGENT) && ids.contains(&APPLICATION),
            "{ids:?}"
        );
    });
});

/// The `(kind, resource type)` of `org`'s events about `id`, in order.
fn events_about(h: &Harness, org: OrgId, id: &str) -> Vec<(String, String)> {
    let mut conn = h.store.get().unwrap();
    events::list_after(&mut conn, org, 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.resource_id == id)
        .map(|e| {
            (
                e.kind.as_str().to_owned(),
                e.resource_type.as_str().to_owned(),
            )
        })
        .collect()
}

// The change feed (the store's events outbox, docs/events) records writes to declared types
// as it does Users' and Groups': created, updated and deleted, each with the type's name, as
// RFC 7643 §3.1 `meta.resourceType` names it.
store_test!(agent_writes_are_events, |store| {
    run(async {
        let h = harness(&store);
        let (org, token) = h.acme();
        let app = h.app().await;
        let made = created(&app, post(AGENTS, &token, &agent("evented", json!({})))).await;
        let id = id_of(&made);
        let path = agent_path(&id);
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "replace", "path": "displayName", "value": "E"}]),
            ),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(call(&app, delete(&path, &token)).await.status, 204);
        let agent_type = || "Agent".to_owned();
        assert_eq!(
            events_about(&h, org, &id),
            [
                ("created".to_owned(), agent_type()),
                ("updated".to_owned(), agent_type()),
                ("deleted".to_owned(), agent_type()),
            ]
        );
        // The audit search selects them by the declared type's name.
        created(&app, post("/scim/v2/Users", &token, &user("someone"))).await;
        let mut conn = h.store.get().unwrap();
        let filter = EventFilter {
            resource_type: Some("Agent".parse::<ResourceType>().unwrap()),
            ..EventFilter::default()
        };
        let found = events::search(&mut conn, org, &filter, 0, 100).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|e| e.resource_id == id), "{found:?}");
    });
});

// RFC 7644 §3.7 and §3.7.2: a Bulk POST of an agent whose owner is the `bulkId` of a user
// created in the same request; both are created and the owner resolves to the user.
store_test!(bulk_creates_an_agent_owned_by_a_bulk_user, |store| {
    run(async {
        let h = harness(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        // The agent comes first: the bulkId orders the user before it (§3.7.2).
        for (index, order) in [["user", "agent"], ["agent", "user"]].iter().enumerate() {
            let user_name = format!("bulk-user-{index}");
            let agent_name = format!("bulk-agent-{index}");
            let operations: Vec<Value> = order
                .iter()
                .map(|which| match *which {
                    "user" => json!({"method": "POST", "path": "/Users", "bulkId": "u",
                                     "data": user(&user_name)}),
                    _ => json!({"method": "POST", "path": "/Agents", "bulkId": "a",
                                "data": agent(&agent_name, json!({"owners": [{"value": "bulkId:u"}]}))}),
                })
                .collect();
            let body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
            let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.body["schemas"], json!([BULK_RESPONSE]), "{reply:?}");
            let results = reply.body["Operations"].as_array().unwrap();
            let result_of = |bulk_id: &str| {
                results
                    .iter()
                    .find(|r| r["bulkId"] == bulk_id)
                    .unwrap_or_else(|| panic!("no result for {bulk_id}: {reply:?}"))
            };
            let (user_result, agent_result) = (result_of("u"), result_of("a"));
            assert_eq!(user_result["status"], "201", "{reply:?}");
            assert_eq!(agent_result["status"], "201", "{reply:?}");
            let user_location = user_result["location"].as_str().unwrap();
            let agent_location = agent_result["location"].as_str().unwrap();
            assert!(agent_location.contains("/Agents/"), "{reply:?}");
            let user_id = user_location.rsplit('/').next().unwrap();
            let agent_id = agent_location.rsplit('/').next().unwrap();

            let read = call(&app, get(&agent_path(agent_id), &token)).await;
            assert_eq!(read.status, 200, "{read:?}");
            assert_eq!(read.body["name"], agent_name.as_str());
            assert_eq!(read.body["owners"][0]["value"], user_id, "{read:?}");
            assert_eq!(
                read.body["owners"][0]["$ref"],
                json!(user_location),
                "{read:?}"
            );
            let owner = call(&app, get(&format!("/scim/v2/Users/{user_id}"), &token)).await;
            assert_eq!(owner.status, 200, "{owner:?}");
            assert_eq!(owner.body["userName"], user_name.as_str());
        }

        // A bulkId naming no POST of the request is refused, and the agent not created.
        let body = json!({"schemas": [BULK_REQUEST], "Operations": [
            {"method": "POST", "path": "/Agents", "bulkId": "a",
             "data": agent("dangling", json!({"owners": [{"value": "bulkId:nobody"}]}))}
        ]});
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_ne!(reply.body["Operations"][0]["status"], "201", "{reply:?}");
        let filter = percent_encode("name eq \"dangling\"");
        let list = call(&app, get(&format!("{AGENTS}?filter={filter}"), &token)).await;
        assert!(list_of(&list, 0).is_empty());
    });
});
