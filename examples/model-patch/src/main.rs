//! A User's life in `scim-model`, without a server or a database: the POST body an identity
//! provider sends is validated, its password hashed before the document is stored; the PATCH
//! requests Okta and Entra ID send are applied and validated; and the result is shown as a
//! response with `attributes` and `excludedAttributes` would show it.
//!
//! `cargo run -p model-patch` prints each step and checks its outcome, so CI notices when one
//! changes (the process fails).

use std::process::ExitCode;

use scim_auth::argon2::Params;
use scim_model::message::PatchRequest;
use scim_model::patch::{self, PatchOptions};
use scim_model::project::{project, Projection};
use scim_model::schema::{ResourceTypeView, SchemaRegistry};
use scim_model::validate::{validate_create, validate_replace, Password, ValidationOptions};
use serde_json::{json, Value};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("model-patch: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .ok_or("no User resource type")?;
    // Cheap argon2 parameters keep the example fast; a server uses `scim_auth::owasp_params()`.
    let params = Params::new(8, 1, 1, None)?;

    // Okta's create: the whole user, `groups` (readOnly, ignored) and a password.
    let body = json!({
        "schemas": [USER],
        "userName": "isabella.ortiz@example.com",
        "name": {"givenName": "Isabella", "familyName": "Ortiz"},
        "emails": [{"primary": true, "value": "isabella.ortiz@example.com", "type": "work"}],
        "displayName": "Isabella Ortiz",
        "locale": "en-US",
        "externalId": "00u1esetp7fWAm4Fz0h8",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let validated = validate_create(&body, users, &ValidationOptions::default())?;
    step(
        "validated POST body (the password is held apart)",
        validated.document(),
    );
    println!("password: {:?}\n", validated.password());
    check(
        validated.document().get("password").is_none(),
        "no password in the document",
    )?;
    check(
        validated.document().get("groups").is_none(),
        "readOnly `groups` dropped",
    )?;
    let mut stored = validated.into_document(|password| hash(password, &params))?;
    let first_hash = text(&stored, "password")?;
    check(
        scim_auth::is_argon2id_phc(&first_hash),
        "the stored password is an argon2id hash",
    )?;
    step("stored document", &stored);

    // Okta deactivates with a path-less replace.
    stored = apply(
        users,
        &stored,
        json!([{"op": "replace", "value": {"active": false}}]),
        "Okta: deactivate",
        &params,
    )?;
    check(stored["active"] == json!(false), "deactivated")?;
    check(
        text(&stored, "password")? == first_hash,
        "the stored hash is kept",
    )?;

    // Entra ID: capitalised ops, booleans as strings, a filtered path to a work email that is
    // created when missing, the manager as a bare id, and a new password.
    stored = apply(
        users,
        &stored,
        json!([
            {"op": "Replace", "path": "active", "value": "True"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "i.ortiz@example.com"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "26118915-6090-4610-87e4-49d8ca9f808d"},
            {"op": "Replace", "path": "password", "value": "n3w-Passw0rd"},
            {"op": "Remove", "path": "locale"},
        ]),
        "Entra ID: reactivate, update and reset the password",
        &params,
    )?;
    check(stored["active"] == json!(true), "reactivated")?;
    check(
        stored["emails"][0]["value"] == json!("i.ortiz@example.com"),
        "the work email replaced in place",
    )?;
    check(
        stored[ENTERPRISE]["manager"]["value"] == json!("26118915-6090-4610-87e4-49d8ca9f808d"),
        "the manager's bare id read as {\"value\": …}",
    )?;
    check(stored.get("locale").is_none(), "locale removed")?;
    let second_hash = text(&stored, "password")?;
    check(
        second_hash != first_hash && scim_auth::is_argon2id_phc(&second_hash),
        "the new password stored as a new hash",
    )?;

    // What a GET with `attributes` shows, and one with `excludedAttributes`.
    let projection = Projection::parse(Some("userName,emails.value,active"), None, users)?;
    let shown = project(&stored, users, &projection);
    step("?attributes=userName,emails.value,active", &shown);
    check(
        shown
            == json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "isabella.ortiz@example.com",
                "emails": [{"value": "i.ortiz@example.com"}],
                "active": true,
            }),
        "only the named attributes, and `schemas`",
    )?;
    let excluded = format!("emails,phoneNumbers,name,{ENTERPRISE}");
    let projection = Projection::parse(None, Some(&excluded), users)?;
    let shown = project(&stored, users, &projection);
    step(&format!("?excludedAttributes={excluded}"), &shown);
    check(
        shown.get("password").is_none(),
        "the password is never shown",
    )?;
    check(
        shown.get("emails").is_none() && shown.get(ENTERPRISE).is_none(),
        "excluded",
    )?;
    check(
        shown["displayName"] == json!("Isabella Ortiz"),
        "the rest shown",
    )?;
    println!("every step gave what it should");
    Ok(())
}

/// The stored form of a password: its argon2id hash under `params`.
fn hash(password: &Password, params: &Params) -> Result<String, scim_auth::HashError> {
    scim_auth::hash_password(password.expose_for_hashing(), params)
}

/// Applies the PATCH `operations` to `stored` and validates the result against it, as a server
/// does before writing; returns the document to store, a new password hashed.
fn apply(
    users: ResourceTypeView<'_>,
    stored: &Value,
    operations: Value,
    what: &str,
    params: &Params,
) -> Result<Value> {
    let request: PatchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    }))?;
    let patched = patch::apply(stored, &request, users, &PatchOptions::default())?;
    println!("{what}: changed {:?}", patched.attributes);
    let validated = validate_replace(
        &patched.resource,
        stored,
        users,
        &ValidationOptions::default(),
    )?;
    let document = validated.into_document(|password| hash(password, params))?;
    step("stored document", &document);
    Ok(document)
}

fn step(title: &str, document: &Value) {
    println!("{title}:\n{document:#}\n");
}

fn text(document: &Value, name: &str) -> Result<String> {
    Ok(document[name]
        .as_str()
        .ok_or_else(|| format!("no {name} string"))?
        .to_owned())
}

fn check(holds: bool, what: &str) -> Result<()> {
    if holds {
        Ok(())
    } else {
        Err(format!("expected: {what}").into())
    }
}
