//! Hostile input (issue 9): values no store can hold, requests the RFC refuses, and sizes that
//! would exhaust the server. Each answer is an RFC 7644 §3.12 error, and a refused PATCH
//! changes nothing (§3.5.2: "SHALL be treated as atomic").

use scim_model::error::ScimError;
use scim_model::message::{ScimType, PATCH_OP};
use scim_model::patch::{apply, request_from_value, PatchOptions};
use scim_model::schema::SchemaRegistry;
use scim_model::validate::{validate_create, validate_replace, ValidationOptions};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn create(resource_type: &str, body: &Value) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let view = registry.resource_type(resource_type).unwrap();
    validate_create(body, view, &ValidationOptions::default())
}

fn replace(body: &Value, existing: &Value) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    validate_replace(body, existing, users, &ValidationOptions::default())
}

fn patch_with(
    resource: &Value,
    operations: Value,
    options: &PatchOptions,
) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    let request =
        request_from_value(json!({"schemas": [PATCH_OP], "Operations": operations})).unwrap();
    apply(resource, &request, users, options).map(|patched| patched.resource)
}

fn patch(resource: &Value, operations: Value) -> Result<Value, ScimError> {
    patch_with(resource, operations, &PatchOptions::default())
}

fn bjensen() -> Value {
    json!({
        "schemas": [USER],
        "id": "2819c223",
        "userName": "bjensen",
        "nickName": "Babs",
        "emails": [{"value": "bjensen@example.com", "type": "work"}],
    })
}

/// Asserts a 400 of `scim_type` whose detail contains `fragment`.
fn assert_400(result: Result<Value, ScimError>, scim_type: ScimType, fragment: &str) {
    let error = match result {
        Ok(value) => panic!("accepted: {value}"),
        Err(error) => error,
    };
    assert_eq!(error.status(), 400, "{error}");
    assert_eq!(error.scim_type(), Some(scim_type), "{error}");
    assert!(error.detail().contains(fragment), "{error}");
}

/// RFC 7643 §2.3.1: a string is "a sequence of zero or more Unicode characters encoded using
/// UTF-8", and a store may hold any of them but U+0000 (PostgreSQL's `text` cannot: "invalid
/// byte sequence for encoding "UTF8": 0x00"). A NUL in any value is refused by the value rules
/// POST, PUT and PATCH share, as 400 `invalidValue`, whatever the attribute.
#[test]
fn nul_in_any_string_value_is_invalid_value() {
    for body in [
        json!({"schemas": [USER], "userName": "b\u{0}jensen"}),
        json!({"schemas": [USER], "userName": "bjensen", "nickName": "\u{0}"}),
        json!({"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Bar\u{0}bara"}}),
        json!({"schemas": [USER], "userName": "bjensen",
               "emails": [{"value": "b@example.com"}, {"value": "x\u{0}@example.com"}]}),
        json!({"schemas": [USER], "userName": "bjensen", "profileUrl": "https://x/\u{0}"}),
        json!({"schemas": [USER], "userName": "bjensen",
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                   {"manager": {"value": "m\u{0}"}}}),
    ] {
        assert_400(create("User", &body), ScimType::InvalidValue, "U+0000");
        assert_400(replace(&body, &bjensen()), ScimType::InvalidValue, "U+0000");
    }
    let group = json!({"schemas": [GROUP], "displayName": "Admins",
                       "members": [{"value": "u\u{0}1", "display": "x"}]});
    assert_400(
        create("Group", &group),
        ScimType::InvalidValue,
        "members[0].value",
    );

    // The detail names where, never the value.
    let error = create(
        "User",
        &json!({"schemas": [USER], "userName": "secret\u{0}"}),
    )
    .unwrap_err();
    assert!(!error.detail().contains("secret"), "{error}");

    // PATCH values go through the same rules, whatever the path form; nothing is applied.
    let user = bjensen();
    for operations in [
        json!([{"op": "replace", "path": "nickName", "value": "Ba\u{0}bs"}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "\u{0}"}]}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "\u{0}"}]),
        json!([{"op": "replace", "value": {"name.familyName": "J\u{0}"}}]),
        json!([{"op": "replace", "path": "nickName", "value": "fine"},
               {"op": "add", "value": {"title": "\u{0}"}}]),
    ] {
        assert_400(patch(&user, operations), ScimType::InvalidValue, "U+0000");
    }
}

/// RFC 8265 §3.1 (UsernameCaseMapped is based on the PRECIS IdentifierClass) and RFC 8264
/// §9.11: "Control characters (e.g., U+0000 through U+001F, U+007F through U+009F, i.e.,
/// general category Cc) are disallowed". `userName` ("MUST be unique", RFC 7643 §4.1.1) is
/// such an identifier; other strings may hold them (a tab in a `title`).
#[test]
fn control_characters_in_a_user_name_are_invalid_value() {
    for name in [
        "b\tjensen",
        "bjensen\n",
        "\u{1b}[31mbjensen",
        "bj\u{7f}",
        "bj\u{85}",
    ] {
        let body = json!({"schemas": [USER], "userName": name});
        assert_400(
            create("User", &body),
            ScimType::InvalidValue,
            "control characters",
        );
        assert_400(
            patch(
                &bjensen(),
                json!([{"op": "replace", "path": "userName", "value": name}]),
            ),
            ScimType::InvalidValue,
            "userName",
        );
    }
    let fine = json!({"schemas": [USER], "userName": "bjensen", "title": "a\tb", "nickName": "é"});
    assert_eq!(create("User", &fine).unwrap()["title"], "a\tb");
}

/// RFC 7644 §3.5.2.1: "The operation MUST contain a "value" member whose content specifies the
/// value to be added." An `add` without one (or with `null`, which the message reads as none)
/// is 400 `invalidValue`, whatever its path, and the request changes nothing; before, the
/// missing value read as `null` and cleared the attribute.
#[test]
fn add_without_a_value_is_invalid_value() {
    let user = bjensen();
    for path in [
        "nickName",
        "emails",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ] {
        for operation in [
            json!({"op": "add", "path": path}),
            json!({"op": "Add", "path": path, "value": null}),
        ] {
            let operations = json!([{"op": "replace", "path": "title", "value": "x"}, operation]);
            assert_400(
                patch(&user, operations),
                ScimType::InvalidValue,
                "operation 2 (add",
            );
        }
    }
    // Path-less too: there is nothing to take attributes from.
    assert_400(
        patch(&user, json!([{"op": "add"}])),
        ScimType::InvalidValue,
        "must carry a value",
    );
    // `remove` needs no value (§3.5.2.2).
    let removed = patch(&user, json!([{"op": "remove", "path": "emails"}])).unwrap();
    assert!(removed.get("emails").is_none());
}
