//! `--schemas-dir` and `scimd schemas check` (issue 16): declarations are checked strictly,
//! the same way by both, and a server started with them stores the declared values.

use crate::{request, Scratch, Server};

/// The Entra walkthrough's files, as docs/schemas.md tells operators to use them.
fn entra_example() -> String {
    format!(
        "{}/../../docs/schemas/examples/entra",
        env!("CARGO_MANIFEST_DIR")
    )
}

const CONTOSO: &str = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";

#[test]
fn check_reports_what_a_directory_declares() {
    let scratch = Scratch::new();
    let printed = scratch.ok(&["schemas", "check", &entra_example()]);
    assert!(
        printed.contains(&format!("schema {CONTOSO} (4 attributes)")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("User extension {CONTOSO}")),
        "{printed}"
    );
    assert!(printed.contains("can be served"), "{printed}");
}

#[test]
fn a_bad_declaration_stops_check_and_serve_with_file_and_pointer() {
    let scratch = Scratch::new();
    let dir = scratch.dir.path().join("schemas");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("hr.json"),
        r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": "urn:example:hr", "attributes": [{"name": "badge", "type": "int"}]}"#,
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let said = scratch.fails(&["schemas", "check", dir]);
    assert!(said.contains("hr.json at /attributes/0/type"), "{said}");
    assert!(said.contains("expected one of string"), "{said}");
    let said = scratch.fails(&["serve", "--schemas-dir", dir]);
    assert!(said.contains("hr.json at /attributes/0/type"), "{said}");

    std::fs::write(format!("{dir}/hr.json"), "{ not json").unwrap();
    let said = scratch.fails(&["schemas", "check", dir]);
    assert!(said.contains("hr.json: not JSON"), "{said}");

    let empty = scratch.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let said = scratch.fails(&["schemas", "check", empty.to_str().unwrap()]);
    assert!(said.contains("no *.json file"), "{said}");
}

#[test]
fn a_server_with_declared_schemas_keeps_their_values() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch, &["--schemas-dir", &entra_example()]);
    let token = server.printed_token().unwrap();
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CONTOSO],
        "userName": "adele@contoso.example",
        CONTOSO: {"costCenter": "CC-1", "badgeNumber": 42, "clearanceLevels": ["secret"]}
    })
    .to_string();
    let (status, created) = request(
        server.port,
        "POST",
        "/scim/v2/Users",
        Some(&token),
        Some(&body),
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_str().unwrap();
    let (status, read) = server.get(&format!("/scim/v2/Users/{id}"), Some(&token));
    assert_eq!(status, 200);
    let read: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(read[CONTOSO]["badgeNumber"], 42);
    let (_, schemas) = server.get(&format!("/scim/v2/Schemas/{CONTOSO}"), Some(&token));
    assert!(schemas.contains("clearanceLevels"), "{schemas}");
}

/// The agent drafts' files, as docs/schemas.md tells operators to use them.
fn agent_schemas() -> String {
    format!("{}/../../docs/schemas/agents", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_reports_the_new_resource_types_of_a_directory() {
    let scratch = Scratch::new();
    let printed = scratch.ok(&["schemas", "check", &agent_schemas()]);
    assert!(
        printed.contains(
            "resource type Agent at /Agents (schema urn:ietf:params:scim:schemas:core:2.0:Agent, \
             unique name)"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("resource type AgenticApplication at /AgenticApplications"),
        "{printed}"
    );
}

// RFC 7644 §3.3 at a declared endpoint: the shipped agent files, served by pointing
// `--schemas-dir` at them, with no code of their own.
#[test]
fn a_server_with_the_agent_schemas_serves_agents_owned_by_users() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch, &["--schemas-dir", &agent_schemas()]);
    let token = server.printed_token().unwrap();
    let post = |path: &str, body: serde_json::Value| {
        let (status, reply) = request(
            server.port,
            "POST",
            path,
            Some(&token),
            Some(&body.to_string()),
        )
        .unwrap();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&reply).unwrap(),
        )
    };
    let (status, owner) = post(
        "/scim/v2/Users",
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "adele@contoso.example"
        }),
    );
    assert_eq!(status, 201, "{owner}");
    let owner_id = owner["id"].as_str().unwrap();
    let (status, agent) = post(
        "/scim/v2/Agents",
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Agent"],
            "name": "invoice-bot",
            "owners": [{"value": owner_id}]
        }),
    );
    assert_eq!(status, 201, "{agent}");
    assert_eq!(agent["meta"]["resourceType"], "Agent");
    let reference = agent["owners"][0]["$ref"].as_str().unwrap();
    assert!(
        reference.ends_with(&format!("/scim/v2/Users/{owner_id}")),
        "{agent}"
    );
    let (status, _) = server.get(
        "/scim/v2/Agents?filter=name%20eq%20%22Invoice-Bot%22",
        Some(&token),
    );
    assert_eq!(status, 200);
    let (status, types) = server.get("/scim/v2/ResourceTypes/AgenticApplication", Some(&token));
    assert_eq!(status, 200, "{types}");
}
