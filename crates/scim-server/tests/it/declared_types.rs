//! Resource types declared as data (RFC 7643 §6 resource types with §7 schemas of their own),
//! served at endpoints of their own: the shipped agent drafts (docs/schemas/agents, Agent at
//! /Agents and AgenticApplication at /AgenticApplications) through CRUD, uniqueness, filter,
//! sort and paging, references, errors, discovery, events and Bulk, on both backends.

use actix_web::test::TestRequest;
use scim_model::schema::Declarations;
use scim_server::ServerConfig;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, delete, get, id_of, list_of, patch, post, put, run, test_verifier, Harness, Reply,
};

const AGENT: &str = "urn:ietf:params:scim:schemas:core:2.0:Agent";
const APPLICATION: &str = "urn:ietf:params:scim:schemas:core:2.0:AgenticApplication";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
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
    assert_eq!(paths.len(), 4, "{paths:?}");
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
