//! PATCH (RFC 7644 §3.5.2): every example of §3.5.2.1–3, the request shapes Entra ID and Okta
//! send (shared/IDP-QUIRKS.md), and every error the section names.

use proptest::prelude::*;
use scim_model::error::ScimError;
use scim_model::message::{PatchRequest, ScimType, PATCH_OP};
use scim_model::patch::{
    apply, parse_request, request_from_value, ComplexReplace, MissingFilterTarget, PatchOptions,
    Patched,
};
use scim_model::schema::{SchemaRegistry, ENTERPRISE_USER, USER};
use scim_model::testing::arb_user;
use scim_model::validate::{validate_replace, ValidationOptions};
use serde_json::{json, Value};

use crate::rfc_example;
use crate::validate::{devices, INVENTORY};

const BABS: &str = "2819c223-7f76-453a-919d-413861904646";
const MANDY: &str = "902c246b-6245-4190-8e05-00816be7344a";
const JAMES: &str = "08e1d05d-121c-4561-8b96-473d93df9210";

fn request(operations: Value) -> PatchRequest {
    request_from_value(json!({"schemas": [PATCH_OP], "Operations": operations}))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run_in(
    registry: &SchemaRegistry,
    resource_type: &str,
    resource: &Value,
    operations: Value,
    options: &PatchOptions,
) -> Result<Patched, ScimError> {
    let view = registry
        .resource_type(resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} resource type"));
    apply(resource, &request(operations), view, options)
}

fn run_with(
    resource_type: &str,
    resource: &Value,
    operations: Value,
    options: &PatchOptions,
) -> Result<Patched, ScimError> {
    run_in(
        &SchemaRegistry::standard(),
        resource_type,
        resource,
        operations,
        options,
    )
}

/// Patches a user with the default options; panics on error.
fn user_ok(resource: &Value, operations: Value) -> Patched {
    run_with("User", resource, operations, &PatchOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn group_ok(resource: &Value, operations: Value) -> Patched {
    run_with("Group", resource, operations, &PatchOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn user_err(resource: &Value, operations: Value) -> ScimError {
    match run_with("User", resource, operations, &PatchOptions::default()) {
        Ok(patched) => panic!("expected an error, got {}", patched.resource),
        Err(error) => error,
    }
}

/// Asserts a 400 of `scim_type` whose detail contains `fragment`.
fn assert_error(error: &ScimError, scim_type: ScimType, fragment: &str) {
    assert_eq!(error.status(), 400, "{error}");
    assert_eq!(error.scim_type(), Some(scim_type), "{error}");
    assert!(
        error.detail().contains(fragment),
        "`{}` does not contain `{fragment}`",
        error.detail()
    );
}

fn minimal_user() -> Value {
    json!({
        "schemas": [USER],
        "id": BABS,
        "userName": "bjensen",
        "active": true,
        "meta": {"resourceType": "User", "version": "W/\"1\""},
    })
}

fn full_user() -> Value {
    rfc_example("8.2-full-user.json")
}

fn group() -> Value {
    rfc_example("8.4-group.json")
}

fn member_values(group: &Value) -> Vec<&str> {
    group["members"]
        .as_array()
        .map(|members| members.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default()
}

fn babs_member() -> Value {
    json!({
        "display": "Babs Jensen",
        "$ref": format!("https://example.com/v2/Users/{BABS}"),
        "value": BABS,
    })
}

fn james_member() -> Value {
    json!({
        "display": "James Smith",
        "$ref": format!("https://example.com/v2/Users/{JAMES}"),
        "value": JAMES,
    })
}

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.5.2.1 add

/// RFC 7644 §3.5.2.1: "add a member to a group".
#[test]
fn rfc7644_3_5_2_1_add_a_member() {
    let mut start = group();
    start["members"] = json!([{"value": MANDY, "display": "Mandy Pepperidge"}]);
    let patched = group_ok(
        &start,
        json!([{"op": "add", "path": "members", "value": [babs_member()]}]),
    );
    assert_eq!(member_values(&patched.resource), [MANDY, BABS]);
    assert_eq!(patched.resource["members"][1], babs_member());
    assert!(patched.changed);
    assert_eq!(patched.attributes, ["members"]);
}

/// RFC 7644 §3.5.2.1: a path-less add of `emails` and `nickname` (the RFC writes it in
/// lower case; names are case-insensitive and stored as the schema spells them).
#[test]
fn rfc7644_3_5_2_1_add_emails_and_nickname_without_path() {
    let operations = json!([{
        "op": "add",
        "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}],
            "nickname": "Babs",
        },
    }]);
    let patched = user_ok(&minimal_user(), operations.clone());
    assert_eq!(
        patched.resource["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
    assert_eq!(patched.resource["nickName"], "Babs");
    assert!(patched.resource.get("nickname").is_none());
    assert_eq!(patched.attributes, ["emails", "nickName"]);

    // §3.5.2.1: "If the target location already contains the value specified, no changes
    // SHOULD be made to the resource" — the §8.2 user already has both.
    let same = user_ok(&full_user(), operations);
    assert!(!same.changed);
    assert_eq!(same.resource, full_user());
    assert!(same.attributes.is_empty());
}

/// RFC 7644 §3.5.2.1: adding a value already there changes nothing; complex values compare by
/// `value`, per its `caseExact` (emails: not case-exact).
#[test]
fn rfc7644_3_5_2_1_add_is_idempotent() {
    let user = full_user();
    let patched = user_ok(
        &user,
        json!([{"op": "add", "path": "emails", "value": [{"value": "BJensen@Example.com", "type": "work"}]}]),
    );
    assert!(!patched.changed);

    let twice = group_ok(
        &group(),
        json!([
            {"op": "add", "path": "members", "value": [{"value": BABS}]},
            {"op": "add", "path": "members", "value": [{"value": JAMES}, {"value": JAMES}]},
        ]),
    );
    assert_eq!(member_values(&twice.resource), [BABS, MANDY, JAMES]);
    // members.value is caseExact (an id): a different case is a different member.
    let other_case = group_ok(
        &group(),
        json!([{"op": "add", "path": "members", "value": [{"value": BABS.to_uppercase()}]}]),
    );
    assert_eq!(member_values(&other_case.resource).len(), 3);
}

/// RFC 7644 §3.5.2.1: add to a singular attribute sets it; to a singular complex attribute it
/// merges the given sub-attributes.
#[test]
fn rfc7644_3_5_2_1_add_sets_singular_and_merges_complex() {
    let patched = user_ok(
        &full_user(),
        json!([
            {"op": "add", "path": "title", "value": "Lead Guide"},
            {"op": "add", "path": "name", "value": {"givenName": "Babs", "middleName": null}},
        ]),
    );
    assert_eq!(patched.resource["title"], "Lead Guide");
    assert_eq!(patched.resource["name"]["givenName"], "Babs");
    assert_eq!(patched.resource["name"]["familyName"], "Jensen");
    assert!(patched.resource["name"].get("middleName").is_none());
}

/// Entra ID: `{"op":"Add","path":"nickName","value":"Babs"}` (op in any case).
#[test]
fn entra_add_nick_name() {
    let patched = user_ok(
        &minimal_user(),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
    );
    assert_eq!(patched.resource["nickName"], "Babs");
    let lower = user_ok(
        &minimal_user(),
        json!([{"op": "add", "path": "NICKNAME", "value": "Babs"}]),
    );
    assert_eq!(lower.resource, patched.resource);
}

/// RFC 7644 §3.5.2.1 and Entra ID: `add` to `emails[type eq "work"].value` on a user without a
/// work email creates it from the filter; on a user with one, it sets the value.
#[test]
fn rfc7644_3_5_2_1_filtered_add_creates_or_updates() {
    let operations =
        json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}]);
    let created = user_ok(&minimal_user(), operations.clone());
    assert_eq!(
        created.resource["emails"],
        json!([{"type": "work", "value": "b@example.com"}])
    );
    let updated = user_ok(&full_user(), operations);
    assert_eq!(updated.resource["emails"][0]["value"], "b@example.com");
    assert_eq!(updated.resource["emails"][0]["primary"], true);
    assert_eq!(updated.resource["emails"][1]["value"], "babs@jensen.org");
}

/// Entra ID has been seen provisioning a work email one sub-attribute at a time, each an `Add`
/// on `emails[type eq "work"].…` (SimpleIdServer issue 376): the first creates the email, the
/// others complete it.
#[test]
fn entra_builds_a_work_email_sub_attribute_by_sub_attribute() {
    let patched = user_ok(
        &minimal_user(),
        json!([
            {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "true"},
            {"op": "Add", "path": "emails[type eq \"work\"].type", "value": "work"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "test@test.com"},
        ]),
    );
    assert_eq!(
        patched.resource["emails"],
        json!([{"type": "work", "primary": true, "value": "test@test.com"}])
    );
}

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.5.2.2 remove

/// RFC 7644 §3.5.2.2: "remove all members of a group"; the attribute becomes unassigned.
#[test]
fn rfc7644_3_5_2_2_remove_all_members() {
    let patched = group_ok(&group(), json!([{"op": "remove", "path": "members"}]));
    assert!(patched.resource.get("members").is_none());
    assert_eq!(patched.attributes, ["members"]);
}

/// RFC 7644 §3.5.2.2: "remove a single member from a group" with a value filter.
#[test]
fn rfc7644_3_5_2_2_remove_one_member_by_filter() {
    let patched = group_ok(
        &group(),
        json!([{"op": "remove", "path": format!("members[value eq \"{BABS}\"]")}]),
    );
    assert_eq!(member_values(&patched.resource), [MANDY]);
    // Removing the last one leaves the attribute unassigned.
    let last = group_ok(
        &patched.resource,
        json!([{"op": "remove", "path": format!("members[value eq \"{MANDY}\"]")}]),
    );
    assert!(last.resource.get("members").is_none());
}

/// RFC 7644 §3.5.2.2: "remove all complex multi-valued attribute values" matched by an `and`
/// filter.
#[test]
fn rfc7644_3_5_2_2_remove_with_and_filter() {
    let patched = user_ok(
        &full_user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    assert_eq!(
        patched.resource["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
}

/// RFC 7644 §3.5.2.2: `attr[filter].sub` clears that sub-attribute of the matching values,
/// `attr.sub` of every value, `attr.sub` of a singular complex attribute just that one.
#[test]
fn rfc7644_3_5_2_2_remove_sub_attributes() {
    let patched = user_ok(
        &full_user(),
        json!([
            {"op": "remove", "path": "addresses[type eq \"work\"].formatted"},
            {"op": "remove", "path": "phoneNumbers.type"},
            {"op": "remove", "path": "name.middleName"},
        ]),
    );
    let resource = &patched.resource;
    assert!(resource["addresses"][0].get("formatted").is_none());
    assert!(resource["addresses"][1].get("formatted").is_some());
    assert!(resource["phoneNumbers"][0].get("type").is_none());
    assert!(resource["phoneNumbers"][1].get("type").is_none());
    assert_eq!(resource["phoneNumbers"][1]["value"], "555-555-4444");
    assert!(resource["name"].get("middleName").is_none());
    assert_eq!(resource["name"]["givenName"], "Barbara");
}

/// RFC 7644 §3.5.2.2: remove all members, then add new ones, in one request.
#[test]
fn rfc7644_3_5_2_2_remove_then_add_members() {
    let patched = group_ok(
        &group(),
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [babs_member(), james_member()]},
        ]),
    );
    assert_eq!(member_values(&patched.resource), [BABS, JAMES]);
}

/// RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with … "noTarget"".
#[test]
fn rfc7644_3_5_2_2_remove_without_path_is_no_target() {
    let error = user_err(&full_user(), json!([{"op": "remove"}]));
    assert_error(&error, ScimType::NoTarget, "operation 1 (remove)");
}

/// Removing what is absent changes nothing and is no error.
#[test]
fn removing_what_is_absent_is_a_no_op() {
    let user = minimal_user();
    let patched = user_ok(
        &user,
        json!([
            {"op": "remove", "path": "nickName"},
            {"op": "remove", "path": "emails[type eq \"work\"]"},
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": format!("{ENTERPRISE_USER}:manager")},
            {"op": "remove", "path": ENTERPRISE_USER},
        ]),
    );
    assert!(!patched.changed);
    assert_eq!(patched.resource, user);
}

/// RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined as a
/// required attribute or a read-only attribute, … "mutability"".
#[test]
fn rfc7644_3_5_2_2_required_and_read_only_cannot_be_removed() {
    let user = full_user();
    assert_error(
        &user_err(&user, json!([{"op": "remove", "path": "userName"}])),
        ScimType::Mutability,
        "`userName` is required",
    );
    assert_error(
        &user_err(
            &user,
            json!([{"op": "replace", "path": "userName", "value": null}]),
        ),
        ScimType::Mutability,
        "required",
    );
    assert_error(
        &user_err(&user, json!([{"op": "remove", "path": "id"}])),
        ScimType::Mutability,
        "`id` is readOnly",
    );
    let group_error = run_with(
        "Group",
        &group(),
        json!([{"op": "remove", "path": "displayName"}]),
        &PatchOptions::default(),
    )
    .expect_err("displayName is required for groups");
    assert_error(
        &group_error,
        ScimType::Mutability,
        "`displayName` is required",
    );
}

/// Entra ID's default member removal carries the members in `value`: only those go, the
/// group is never emptied.
#[test]
fn entra_remove_members_with_a_value_list() {
    let patched = group_ok(
        &group(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": BABS}]}]),
    );
    assert_eq!(member_values(&patched.resource), [MANDY]);
    let nothing_listed = group_ok(
        &group(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}]),
    );
    assert!(!nothing_listed.changed);
    assert_eq!(member_values(&nothing_listed.resource), [BABS, MANDY]);
}

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.5.2.3 replace

/// RFC 7644 §3.5.2.3: "replace all of the members of a group with a different members list".
#[test]
fn rfc7644_3_5_2_3_replace_members() {
    let patched = group_ok(
        &group(),
        json!([{"op": "replace", "path": "members", "value": [babs_member(), james_member()]}]),
    );
    assert_eq!(
        patched.resource["members"],
        json!([babs_member(), james_member()])
    );
}

/// RFC 7644 §3.5.2.3: "replace all values of a user's "work" address".
#[test]
fn rfc7644_3_5_2_3_replace_work_address() {
    let work = json!({
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": true,
    });
    let patched = user_ok(
        &full_user(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": work}]),
    );
    assert_eq!(patched.resource["addresses"][0], work);
    assert_eq!(
        patched.resource["addresses"][1],
        full_user()["addresses"][1]
    );
}

/// RFC 7644 §3.5.2.3: "change a user's work street address" through
/// `addresses[type eq "work"].streetAddress`.
#[test]
fn rfc7644_3_5_2_3_replace_work_street_address() {
    let patched = user_ok(
        &full_user(),
        json!([{
            "op": "replace",
            "path": "addresses[type eq \"work\"].streetAddress",
            "value": "1010 Broadway Ave",
        }]),
    );
    let mut expected = full_user();
    expected["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave");
    assert_eq!(patched.resource, expected);
    assert_eq!(patched.attributes, ["addresses"]);
}

/// RFC 7644 §3.5.2.3: a path-less replace of `emails` and `nickname`: the collection is
/// replaced, the singular value too.
#[test]
fn rfc7644_3_5_2_3_replace_without_path() {
    let emails = json!([
        {"value": "bjensen@example.com", "type": "work", "primary": true},
        {"value": "babs@jensen.org", "type": "home"},
    ]);
    let mut start = full_user();
    start["emails"] = json!([{"value": "old@example.com", "type": "other"}]);
    start["nickName"] = json!("Barb");
    let patched = user_ok(
        &start,
        json!([{"op": "replace", "value": {"emails": emails, "nickname": "Babs"}}]),
    );
    assert_eq!(patched.resource["emails"], emails);
    assert_eq!(patched.resource["nickName"], "Babs");
}

/// RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the "value" parameter are
/// left unchanged" — unless the interop profile's whole-value reading (§6.5.2.1) is chosen.
#[test]
fn rfc7644_3_5_2_3_complex_replace_merges_by_default() {
    let operations = json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]);
    let merged = user_ok(&full_user(), operations.clone());
    assert_eq!(merged.resource["name"]["givenName"], "Babs");
    assert_eq!(merged.resource["name"]["familyName"], "Jensen");

    let options = PatchOptions {
        complex_replace: ComplexReplace::WholeValue,
        ..PatchOptions::default()
    };
    let whole =
        run_with("User", &full_user(), operations, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.resource["name"], json!({"givenName": "Babs"}));
}

/// RFC 7644 §3.5.2.3: a filtered replace that matches nothing is `noTarget`; Entra ID expects
/// the value to be added, which is the default.
#[test]
fn rfc7644_3_5_2_3_filtered_replace_without_match() {
    let operations = json!([{
        "op": "Replace",
        "path": "emails[type eq \"work\"].value",
        "value": "babs@work.example.com",
    }]);
    // Entra ID, user without a work email: the email is created from the filter.
    let mut start = minimal_user();
    start["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]);
    let added = user_ok(&start, operations.clone());
    assert_eq!(
        added.resource["emails"],
        json!([
            {"value": "babs@jensen.org", "type": "home"},
            {"type": "work", "value": "babs@work.example.com"},
        ])
    );
    // Entra ID, user with a work email: it is updated.
    let updated = user_ok(&full_user(), operations.clone());
    assert_eq!(
        updated.resource["emails"][0]["value"],
        "babs@work.example.com"
    );
    assert_eq!(updated.resource["emails"].as_array().map(Vec::len), Some(2));

    let strict = PatchOptions {
        replace_missing_filter_target: MissingFilterTarget::NoTarget,
        ..PatchOptions::default()
    };
    let error = run_with("User", &start, operations, &strict).expect_err("noTarget");
    assert_error(
        &error,
        ScimType::NoTarget,
        "operation 1 (replace emails[type eq \"work\"].value)",
    );

    // A filter that does not describe one value (`ne`, `or`, …) cannot be added.
    let error = user_err(
        &minimal_user(),
        json!([{"op": "replace", "path": "emails[type ne \"work\"].value", "value": "x@y"}]),
    );
    assert_error(&error, ScimType::NoTarget, "`eq` conditions");
}

/// Entra ID: `{"op":"Replace","path":"active","value":"False"}` — the boolean as a string.
#[test]
fn entra_replace_active_with_a_string_boolean() {
    for (text, expected) in [("False", false), ("TRUE", true), ("false", false)] {
        let patched = user_ok(
            &minimal_user(),
            json!([{"op": "Replace", "path": "active", "value": text}]),
        );
        assert_eq!(patched.resource["active"], expected, "{text}");
    }
    // With the aadOptscim062020 flag it is a real boolean.
    let patched = user_ok(
        &minimal_user(),
        json!([{"op": "replace", "path": "active", "value": false}]),
    );
    assert_eq!(patched.resource["active"], false);

    let strict = PatchOptions {
        coerce_boolean_strings: false,
        ..PatchOptions::default()
    };
    let error = run_with(
        "User",
        &minimal_user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        &strict,
    )
    .expect_err("no coercion");
    assert_error(
        &error,
        ScimType::InvalidValue,
        "`active` must be a boolean, not a string",
    );
}

/// Entra ID: `{"op":"Replace","path":"displayName","value":" User X"}` and
/// `name.familyName`, plain strings.
#[test]
fn entra_replace_scalars() {
    let patched = user_ok(
        &full_user(),
        json!([
            {"op": "Replace", "path": "displayName", "value": " User X"},
            {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "Replace", "path": "userName", "value": "5b50@testuser.com"},
        ]),
    );
    assert_eq!(patched.resource["displayName"], " User X");
    assert_eq!(patched.resource["name"]["familyName"], "Jensen-Smith");
    assert_eq!(patched.resource["userName"], "5b50@testuser.com");
    assert_eq!(patched.attributes, ["displayName", "name", "userName"]);
}

/// Entra ID (aadOptscim062020): a path-less replace with dotted and URN-qualified keys; they
/// are split into nested attributes, never stored as literal keys, and the enterprise URN
/// joins `schemas`.
#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let patched = user_ok(
        &full_user(),
        json!([{
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                format!("{ENTERPRISE_USER}:employeeNumber"): "Aklq",
            },
        }]),
    );
    let resource = &patched.resource;
    assert_eq!(resource["displayName"], "Bjfe");
    assert_eq!(resource["name"]["givenName"], "Kkom");
    assert_eq!(resource["name"]["familyName"], "Unua");
    assert_eq!(resource["name"]["middleName"], "Jane");
    assert_eq!(resource[ENTERPRISE_USER], json!({"employeeNumber": "Aklq"}));
    assert_eq!(resource["schemas"], json!([USER, ENTERPRISE_USER]));
    let keys: Vec<&String> = resource
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert!(keys
        .iter()
        .all(|key| !key.contains("name.") && !key.ends_with("employeeNumber")));
    let mut touched = patched.attributes.clone();
    touched.sort();
    assert_eq!(
        touched,
        [
            "displayName".to_owned(),
            "name".to_owned(),
            format!("{ENTERPRISE_USER}:employeeNumber"),
        ]
    );

    // A pathless add with dotted keys has been seen too, and an extension URN holding an
    // object.
    let added = user_ok(
        &minimal_user(),
        json!([{
            "op": "add",
            "value": {
                "name.givenName": "Barbara",
                ENTERPRISE_USER: {"department": "Tours", "manager.value": "m-1"},
            },
        }]),
    );
    assert_eq!(added.resource["name"], json!({"givenName": "Barbara"}));
    assert_eq!(
        added.resource[ENTERPRISE_USER],
        json!({"department": "Tours", "manager": {"value": "m-1"}})
    );
}

/// Entra ID sends `manager` three ways; it is always stored as an object with `value`, the
/// shape Entra's own deserializer needs back.
#[test]
fn entra_manager_in_three_shapes() {
    let manager_path = format!("{ENTERPRISE_USER}:manager");
    let shapes = [
        json!([{"op": "add", "path": manager_path, "value": "m-1"}]),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "../Users/m-1", "value": "m-1"}]}]),
        json!([{"op": "replace", "value": {"manager": "m-1"}}]),
        json!([{"op": "replace", "value": {manager_path.clone(): {"value": "m-1"}}}]),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "m-1"}]}]),
    ];
    for operations in shapes {
        let patched = user_ok(&minimal_user(), operations.clone());
        let manager = &patched.resource[ENTERPRISE_USER]["manager"];
        assert!(manager.is_object(), "{operations}: {manager}");
        assert_eq!(manager["value"], "m-1", "{operations}");
        assert_eq!(patched.resource["schemas"], json!([USER, ENTERPRISE_USER]));
    }

    // Replacing the manager of the §8.3 user keeps the server's `displayName`, as a
    // sub-attribute the value does not name (§3.5.2.3).
    let enterprise = rfc_example("8.3-enterprise-user.json");
    let patched = user_ok(
        &enterprise,
        json!([{"op": "replace", "path": manager_path, "value": "m-2"}]),
    );
    assert_eq!(patched.resource[ENTERPRISE_USER]["manager"]["value"], "m-2");
    assert_eq!(
        patched.resource[ENTERPRISE_USER]["manager"]["displayName"],
        enterprise[ENTERPRISE_USER]["manager"]["displayName"]
    );

    // Clearing the last extension attribute drops the extension and its URN.
    let cleared = user_ok(
        &user_ok(
            &minimal_user(),
            json!([{"op": "add", "path": "manager", "value": "m-1"}]),
        )
        .resource,
        json!([{"op": "replace", "path": "manager", "value": null}]),
    );
    assert_eq!(cleared.resource, minimal_user());
}

/// RFC 7644 §3.5.2: a path that is exactly an extension URN addresses its object.
#[test]
fn rfc7644_3_5_2_extension_urn_path() {
    let enterprise = rfc_example("8.3-enterprise-user.json");
    let removed = user_ok(
        &enterprise,
        json!([{"op": "remove", "path": ENTERPRISE_USER}]),
    );
    assert!(removed.resource.get(ENTERPRISE_USER).is_none());
    assert_eq!(removed.resource["schemas"], json!([USER]));
    assert_eq!(removed.attributes.len(), 6, "{:?}", removed.attributes);

    let replaced = user_ok(
        &enterprise,
        json!([{"op": "replace", "path": ENTERPRISE_USER, "value": {"costCenter": "5000"}}]),
    );
    assert_eq!(replaced.resource[ENTERPRISE_USER]["costCenter"], "5000");
    assert_eq!(replaced.resource[ENTERPRISE_USER]["division"], "Theme Park");
}

// ---------------------------------------------------------------------------------------------
// Okta

/// Okta deactivates with a path-less replace that may carry `id`: an `id` equal to the
/// stored one is ignored, a different one is `mutability`, a null one (OneLogin templates) is
/// ignored.
#[test]
fn okta_pathless_deactivation_with_id() {
    let user = minimal_user();
    let patched = user_ok(
        &user,
        json!([{"op": "replace", "value": {"id": BABS, "active": false}}]),
    );
    assert_eq!(patched.resource["active"], false);
    assert_eq!(patched.resource["id"], BABS);
    assert_eq!(patched.attributes, ["active"]);

    let reactivated = user_ok(
        &patched.resource,
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reactivated.resource, user);

    let null_id = user_ok(
        &user,
        json!([{"op": "replace", "value": {"id": null, "active": false}}]),
    );
    assert_eq!(null_id.resource["id"], BABS);

    let error = user_err(
        &user,
        json!([{"op": "replace", "value": {"id": "other", "active": false}}]),
    );
    assert_error(&error, ScimType::Mutability, "`id` is readOnly");
}

/// Okta Push Groups: a rename carrying the group id, a membership change (remove by filter,
/// add a list of members without `type`), and a full push replacing the list.
#[test]
fn okta_group_push() {
    let start = group();
    let renamed = group_ok(
        &start,
        json!([{"op": "replace", "value": {"id": start["id"], "displayName": "Test SCIMv2"}}]),
    );
    assert_eq!(renamed.resource["displayName"], "Test SCIMv2");

    let membership = group_ok(
        &renamed.resource,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{MANDY}\"]")},
            {"op": "add", "path": "members", "value": [{"value": JAMES, "display": "test.user@okta.local"}]},
        ]),
    );
    assert_eq!(member_values(&membership.resource), [BABS, JAMES]);

    let pushed = group_ok(
        &membership.resource,
        json!([{"op": "replace", "path": "members", "value": [{"value": MANDY}, {"value": JAMES}]}]),
    );
    assert_eq!(
        pushed.resource["members"],
        json!([{"value": MANDY}, {"value": JAMES}])
    );
}

/// Entra ID adds members with `"$ref": null`; the null is not stored.
#[test]
fn entra_add_members_with_null_ref() {
    let patched = group_ok(
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G"}),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": BABS}, {"$ref": null, "value": JAMES}]}]),
    );
    assert_eq!(
        patched.resource["members"],
        json!([{"value": BABS}, {"value": JAMES}])
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

/// RFC 7644 §3.5.2: a path that does not parse or names no attribute is `invalidPath`.
#[test]
fn rfc7644_3_5_2_invalid_paths() {
    let user = full_user();
    let cases = [
        (
            json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
            "is not a valid path",
        ),
        (
            json!([{"op": "add", "path": "shoeSize", "value": 42}]),
            "unknown attribute `shoeSize`",
        ),
        (
            json!([{"op": "replace", "path": "name.nickname", "value": "x"}]),
            "no sub-attribute",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].label", "value": "x"}]),
            "no sub-attribute `label`",
        ),
        (
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]),
            "multi-valued",
        ),
        (
            json!([{"op": "replace", "value": {"shoeSize": 42}}]),
            "unknown attribute `shoeSize`",
        ),
        (
            json!([{"op": "replace", "value": {"name": {"nickname": "x"}}}]),
            "no sub-attribute `nickname`",
        ),
        // A URN the resource type does not have is skipped by default; see
        // `unknown_schema_attributes_are_skipped_unless_strict` for it.
        (json!([{"op": "remove", "path": USER}]), "core schema"),
    ];
    for (operations, fragment) in cases {
        let error = user_err(&user, operations.clone());
        assert_error(&error, ScimType::InvalidPath, fragment);
        assert!(
            error.detail().starts_with("operation 1 ("),
            "{operations}: {error}"
        );
    }
    // A filter the schema rejects is `invalidFilter` (RFC 7644 §3.12 lists PATCH path filters).
    let error = user_err(
        &user,
        json!([{"op": "remove", "path": "emails[primary gt true]"}]),
    );
    assert_error(&error, ScimType::InvalidFilter, "emails");
}

/// RFC 7643 §2.2: readOnly attributes (`id`, `meta`, `groups`) and sub-attributes cannot be
/// written through a path; in a path-less value only an unchanged value is tolerated.
#[test]
fn rfc7643_2_2_read_only_is_mutability() {
    let user = full_user();
    let cases = [
        json!([{"op": "replace", "path": "id", "value": "x"}]),
        json!([{"op": "replace", "path": "id", "value": user["id"]}]),
        json!([{"op": "replace", "path": "meta.version", "value": "W/\"x\""}]),
        json!([{"op": "remove", "path": "meta"}]),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
        json!([{"op": "remove", "path": "groups[display eq \"Tour Guides\"]"}]),
        json!([{"op": "replace", "value": {"meta": {"created": "04-12-2018 00:00:00"}}}]),
        json!([{"op": "replace", "value": {"groups": []}}]),
        json!([{"op": "replace", "path": "manager.displayName", "value": "Boss"}]),
        json!([{"op": "add", "path": "manager", "value": {"value": "m", "displayName": "Boss"}}]),
        json!([{"op": "replace", "path": "schemas", "value": [USER]}]),
    ];
    for operations in cases {
        let error = user_err(&user, operations.clone());
        assert_eq!(
            error.scim_type(),
            Some(ScimType::Mutability),
            "{operations}: {error}"
        );
    }
    // Unchanged readOnly values and `schemas` in a path-less value are ignored.
    let unchanged = user_ok(
        &user,
        json!([{"op": "replace", "value": {
            "schemas": [USER],
            "id": user["id"],
            "meta": {"resourceType": "User"},
            "groups": user["groups"],
            "title": "Tour Guide",
        }}]),
    );
    assert!(!unchanged.changed);
}

/// RFC 7643 §2.2 `immutable`: may be set while unassigned, not changed once assigned. Group
/// `members` sub-attributes are immutable: a new member may carry them, an existing one keeps
/// them; replacing the whole list is allowed (RFC 7644 §3.5.2.3's own example).
#[test]
fn rfc7643_2_2_immutable() {
    let registry = devices();
    let device = json!({"schemas": [crate::validate::DEVICE, INVENTORY], "id": "d", "serial": "SN-1", INVENTORY: {"site": "Paris"}});
    let options = PatchOptions::default();
    let set = run_in(
        &registry,
        "Device",
        &device,
        json!([{"op": "add", "path": "hardwareId", "value": "HW-1"}]),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.resource["hardwareId"], "HW-1");
    let again = run_in(
        &registry,
        "Device",
        &set.resource,
        json!([{"op": "replace", "path": "hardwareId", "value": "HW-1"}]),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.changed);
    for operations in [
        json!([{"op": "replace", "path": "hardwareId", "value": "HW-2"}]),
        json!([{"op": "remove", "path": "hardwareId"}]),
        json!([{"op": "replace", "value": {"hardwareId": "HW-2"}}]),
    ] {
        let error = run_in(
            &registry,
            "Device",
            &set.resource,
            operations.clone(),
            &options,
        )
        .expect_err("immutable");
        assert_error(&error, ScimType::Mutability, "`hardwareId` is immutable");
    }
    // A sub-attribute of a singular complex value.
    let owned = run_in(
        &registry,
        "Device",
        &device,
        json!([{"op": "add", "path": "owner", "value": {"value": "u1", "badge": "B1"}}]),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = run_in(
        &registry,
        "Device",
        &owned.resource,
        json!([{"op": "replace", "path": "owner.badge", "value": "B2"}]),
        &options,
    )
    .expect_err("immutable sub-attribute");
    assert_error(&error, ScimType::Mutability, "`owner.badge` is immutable");

    let error = run_with(
        "Group",
        &group(),
        json!([{"op": "replace", "path": format!("members[value eq \"{BABS}\"].display"), "value": "Barbara"}]),
        &options,
    )
    .expect_err("members.display is immutable");
    assert_error(
        &error,
        ScimType::Mutability,
        "`members.display` is immutable",
    );
}

/// RFC 7643 §2.3: values must have their attribute's type (`invalidValue`, naming the
/// operation and the attribute).
#[test]
fn rfc7643_2_3_wrong_types_are_invalid_value() {
    let user = full_user();
    let cases = [
        (
            json!([{"op": "replace", "path": "active", "value": "yes"}]),
            "`active` must be a boolean, not a string",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": 5}]),
            "`userName` must be a string, not a number",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": ["a", "b"]}]),
            "`title` is single-valued",
        ),
        (
            json!([{"op": "add", "path": "emails", "value": [42]}]),
            "`emails[0]` must be a JSON object, not a number",
        ),
        (
            json!([{"op": "add", "path": "emails", "value": [{"value": true}]}]),
            "`emails[0].value` must be a string, not a boolean",
        ),
        (
            json!([{"op": "replace", "path": "name", "value": "Babs"}]),
            "`name` must be a JSON object, not a string",
        ),
        (
            json!([{"op": "replace", "value": "Babs"}]),
            "must be an object",
        ),
        (
            json!([{"op": "replace", "path": ENTERPRISE_USER, "value": 3}]),
            "takes an object",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}]),
            "`emails.primary` must be a boolean, not a string",
        ),
    ];
    for (operations, fragment) in cases {
        let error = user_err(&user, operations.clone());
        assert_error(&error, ScimType::InvalidValue, fragment);
        assert!(
            error.detail().starts_with("operation 1 ("),
            "{operations}: {error}"
        );
    }

    let registry = devices();
    let device = json!({"schemas": [crate::validate::DEVICE, INVENTORY], "serial": "SN-1", INVENTORY: {"site": "Paris"}});
    let options = PatchOptions::default();
    let typed = run_in(&registry, "Device", &device, json!([{"op": "add", "value": {
        "slots": 4.0, "weight": 1.5, "purchased": "2021-01-01T10:00:00+02:00", "firmware": "TWFu",
        "tags": "lone", "secret": "s3cret",
    }}]), &options)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(typed.resource["slots"], json!(4));
    assert_eq!(typed.resource["tags"], json!(["lone"]));
    assert_eq!(typed.resource["secret"], "s3cret");
    for (operations, fragment) in [
        (
            json!([{"op": "add", "path": "slots", "value": 4.5}]),
            "`slots` must be an integer",
        ),
        (
            json!([{"op": "add", "path": "purchased", "value": "04-12-2018 00:00:00"}]),
            "xsd:dateTime",
        ),
        (
            json!([{"op": "add", "path": "firmware", "value": "not base64!"}]),
            "base64",
        ),
        (
            json!([{"op": "add", "path": "weight", "value": "heavy"}]),
            "`weight` must be a number, not a string",
        ),
        (
            json!([{"op": "add", "path": "owner", "value": {"display": "no value"}}]),
            "`owner.value` is missing",
        ),
    ] {
        let error = run_in(&registry, "Device", &device, operations.clone(), &options)
            .expect_err("bad value");
        assert_error(&error, ScimType::InvalidValue, fragment);
    }
    // The required extension cannot go, nor a required sub-attribute.
    let error = run_in(
        &registry,
        "Device",
        &device,
        json!([{"op": "remove", "path": INVENTORY}]),
        &options,
    )
    .expect_err("required extension");
    assert_error(&error, ScimType::Mutability, "required");
    let owned = run_in(
        &registry,
        "Device",
        &device,
        json!([{"op": "add", "path": "owner", "value": {"value": "u1", "display": "Ann"}}]),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = run_in(
        &registry,
        "Device",
        &owned.resource,
        json!([{"op": "remove", "path": "owner.value"}]),
        &options,
    )
    .expect_err("required sub-attribute");
    assert_error(&error, ScimType::Mutability, "`owner.value` is required");
    // Taking every sub-attribute leaves `owner` unassigned, which it may be.
    let cleared = run_in(
        &registry,
        "Device",
        &owned.resource,
        json!([{"op": "remove", "path": "owner"}]),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cleared.resource, device);
}

/// RFC 7644 §3.5.2: `op` is `add`, `remove` or `replace` in any case; anything else, and a
/// request without operations, is `invalidSyntax`.
#[test]
fn rfc7644_3_5_2_unknown_op_and_empty_operations() {
    let error = parse_request(br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}"#)
        .expect_err("unknown op");
    assert_error(&error, ScimType::InvalidSyntax, "move");
    let error = parse_request(b"not json").expect_err("not json");
    assert_error(&error, ScimType::InvalidSyntax, "not a PATCH request");
    let parsed = parse_request(
        br#"{"schemas":[],"Operations":[{"op":"REPLACE","path":"title","value":"x"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.operations.len(), 1);

    let error = user_err(&full_user(), json!([]));
    assert_error(&error, ScimType::InvalidSyntax, "at least one operation");

    // The same attribute twice in one value, in two spellings, is ambiguous.
    let error = user_err(
        &full_user(),
        json!([{"op": "replace", "value": {"nickName": "a", "NICKNAME": "b"}}]),
    );
    assert_error(
        &error,
        ScimType::InvalidSyntax,
        "`nickName` is given more than once",
    );
    // So is a sub-attribute given twice in one complex value, as validation answers on PUT.
    let error = user_err(
        &full_user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "a", "GIVENNAME": "b"}}]),
    );
    assert_error(
        &error,
        ScimType::InvalidSyntax,
        "`name.givenName` is given more than once",
    );
}

/// RFC 7644 §3.5.2: "A PATCH request, regardless of the number of operations, SHALL be
/// treated as atomic": a failing second operation leaves no trace of the first, and the error
/// names it.
#[test]
fn rfc7644_3_5_2_atomicity() {
    let user = full_user();
    let before = user.clone();
    let error = user_err(
        &user,
        json!([
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": 42},
            {"op": "remove", "path": "nickName"},
        ]),
    );
    assert_error(
        &error,
        ScimType::InvalidValue,
        "operation 2 (replace emails[type eq \"work\"].value): `emails.value` must be a string, not a number",
    );
    assert_eq!(user, before);
}

/// RFC 7644 §3.5.2: "a PATCH operation that sets a value's "primary" sub-attribute to "true"
/// SHALL cause the server to automatically set "primary" to "false" for any other values".
#[test]
fn rfc7644_3_5_2_primary_stays_unique() {
    let user = full_user();
    let added = user_ok(
        &user,
        json!([{"op": "add", "path": "emails", "value": {"value": "new@example.com", "type": "other", "primary": true}}]),
    );
    let emails = &added.resource["emails"];
    assert_eq!(emails[0]["primary"], false);
    assert_eq!(emails[2]["primary"], true);

    let moved = user_ok(
        &user,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
    );
    assert_eq!(moved.resource["emails"][0]["primary"], false);
    assert_eq!(moved.resource["emails"][1]["primary"], true);

    // Untouched primaries of other attributes stay as they are.
    assert_eq!(moved.resource["addresses"][0]["primary"], true);

    let error = user_err(
        &user,
        json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@example.com", "primary": true},
            {"value": "b@example.com", "primary": true},
        ]}]),
    );
    assert_error(&error, ScimType::InvalidValue, "primary");

    // A value made primary that equals the one already primary (found by proptest): one stays.
    let twins = json!({
        "schemas": [USER],
        "userName": "a",
        "emails": [{"type": "home"}, {"type": "home", "primary": true}],
    });
    let patched = user_ok(
        &twins,
        json!([{"op": "add", "path": "emails[type eq \"home\"].primary", "value": true}]),
    );
    let primaries = patched.resource["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|email| email["primary"] == true)
        .count();
    assert_eq!(primaries, 1, "{}", patched.resource);
}

/// `null` means unassigned (RFC 7643 §2.5): replace with null clears the target, and so does
/// a `null` member of a path-less value. (An `add` whose whole value is `null` carries no value
/// to add, and is refused: see `hostile::add_without_a_value_is_invalid_value`.)
#[test]
fn rfc7643_2_5_null_clears() {
    let patched = user_ok(
        &full_user(),
        json!([
            {"op": "replace", "path": "title", "value": null},
            {"op": "add", "value": {"nickName": null}},
            {"op": "replace", "path": "addresses[type eq \"home\"]", "value": null},
            {"op": "replace", "value": {"locale": null, "name.middleName": null}},
        ]),
    );
    let resource = &patched.resource;
    assert!(resource.get("title").is_none());
    assert!(resource.get("nickName").is_none());
    assert!(resource.get("locale").is_none());
    assert!(resource["name"].get("middleName").is_none());
    assert_eq!(resource["addresses"].as_array().map(Vec::len), Some(1));
}

/// A PATCH that leaves the resource as it was reports no change, so the version is kept.
#[test]
fn no_op_patch_is_unchanged() {
    let user = full_user();
    let patched = user_ok(
        &user,
        json!([
            {"op": "replace", "path": "title", "value": "Tour Guide"},
            {"op": "replace", "path": "userName", "value": "bjensen@example.com"},
            {"op": "replace", "path": "active", "value": "True"},
        ]),
    );
    assert!(!patched.changed);
    assert!(patched.attributes.is_empty());
    assert_eq!(patched.resource, user);
}

/// Names are case-insensitive (RFC 7643 §2.1) and stored in the schema's spelling, replacing
/// a differently spelled key.
#[test]
fn rfc7643_2_1_names_are_stored_canonically() {
    let mut start = minimal_user();
    start["NICKNAME"] = json!("Old");
    let patched = user_ok(
        &start,
        json!([
            {"op": "replace", "path": "NickName", "value": "Babs"},
            {"op": "add", "path": "NAME.GIVENNAME", "value": "Barbara"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:user:Title", "value": "Guide"},
            {"op": "add", "path": "EMAILS[TYPE EQ \"work\"].VALUE", "value": "b@example.com"},
        ]),
    );
    let resource = &patched.resource;
    assert!(resource.get("NICKNAME").is_none());
    assert_eq!(resource["nickName"], "Babs");
    assert_eq!(resource["name"], json!({"givenName": "Barbara"}));
    assert_eq!(resource["title"], "Guide");
    assert_eq!(
        resource["emails"],
        json!([{"type": "work", "value": "b@example.com"}])
    );
}

/// Filtered operations reach every matching value.
#[test]
fn filters_select_every_matching_value() {
    let mut start = minimal_user();
    start["phoneNumbers"] = json!([
        {"value": "1", "type": "work"},
        {"value": "2", "type": "home"},
        {"value": "3", "type": "WORK"},
    ]);
    let patched = user_ok(
        &start,
        json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].display", "value": "office"}]),
    );
    let phones = &patched.resource["phoneNumbers"];
    assert_eq!(phones[0]["display"], "office");
    assert!(phones[1].get("display").is_none());
    assert_eq!(phones[2]["display"], "office");

    let merged = user_ok(
        &start,
        json!([{"op": "replace", "path": "phoneNumbers[value eq \"2\"]", "value": {"type": "mobile"}}]),
    );
    assert_eq!(
        merged.resource["phoneNumbers"][1],
        json!({"value": "2", "type": "mobile"})
    );
}

/// The interop profile §6.5.1.1 forbids path-less operations; the strict options refuse them
/// with `invalidSyntax`, and refuse string booleans and missing filter targets as the RFC
/// does.
#[test]
fn strict_options() {
    let strict = PatchOptions::strict();
    let error = run_with(
        "User",
        &minimal_user(),
        json!([{"op": "replace", "value": {"active": false}}]),
        &strict,
    )
    .expect_err("path-less");
    assert_error(&error, ScimType::InvalidSyntax, "`path`");
    let patched = run_with(
        "User",
        &minimal_user(),
        json!([{"op": "replace", "path": "active", "value": false}]),
        &strict,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patched.resource["active"], false);
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Paths of every form, valid and not.
const PATHS: &[&str] = &[
    "userName",
    "active",
    "title",
    "name",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.primary",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"work\" and primary eq true].primary",
    "emails[value co \"@\"].type",
    "emails[type ne \"home\"].display",
    "phoneNumbers[type eq \"work\"].primary",
    "x509Certificates[value eq \"TWFu\"]",
    "id",
    "meta.version",
    "groups",
    "schemas",
    "manager",
    "manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
    "urn:unknown:x",
    "nope",
    "emails[",
    "emails[type eq \"work\"].nope",
    "name[givenName eq \"x\"]",
    "",
];

/// Member names of generated objects: attributes, dotted and URN keys, sub-attributes.
const KEYS: &[&str] = &[
    "value",
    "type",
    "primary",
    "display",
    "givenName",
    "userName",
    "active",
    "emails",
    "name",
    "name.givenName",
    "manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "id",
    "schemas",
    "nickName",
    "x",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        Just(json!(2.5)),
        prop::sample::select(vec![
            "True",
            "false",
            "x@y.com",
            "work",
            "home",
            "",
            "2011-05-13T04:42:34Z",
            "TWFu",
            "m-1",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect(),
                )
            }),
        ]
    })
}

/// Operations that usually succeed, so that the properties see many successful PATCHes.
fn plausible_operations() -> Vec<Value> {
    vec![
        json!({"op": "Replace", "path": "active", "value": "False"}),
        json!({"op": "add", "path": "emails", "value": {"value": "a@b.example", "type": "work", "primary": true}}),
        json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x.example"}),
        json!({"op": "add", "path": "emails[type eq \"home\"].primary", "value": true}),
        json!({"op": "remove", "path": "emails[type eq \"work\"]"}),
        json!({"op": "remove", "path": "emails", "value": [{"value": "x@y.com"}]}),
        json!({"op": "replace", "path": "emails", "value": [{"value": "q@r.example", "primary": true}, {"value": "s@t.example"}]}),
        json!({"op": "add", "path": "emails.display", "value": "shown"}),
        json!({"op": "replace", "value": {"name.givenName": "G", format!("{ENTERPRISE_USER}:employeeNumber"): "7"}}),
        json!({"op": "add", "path": "manager", "value": [{"$ref": null, "value": "m-1"}]}),
        json!({"op": "remove", "path": ENTERPRISE_USER}),
        json!({"op": "remove", "path": "manager"}),
        json!({"op": "replace", "path": "title", "value": null}),
        json!({"op": "remove", "path": "name.givenName"}),
        json!({"op": "replace", "path": "name", "value": {"familyName": "F"}}),
        json!({"op": "replace", "value": {"displayName": "D", "active": true}}),
    ]
}

fn arb_operation() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => prop::sample::select(plausible_operations()),
        1 => arb_any_operation(),
    ]
}

fn arb_any_operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "remove", "replace", "Add", "REPLACE"]),
        prop::option::of(prop::sample::select(PATHS)),
        prop::option::of(arb_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// No input panics; a failure is a 400; `changed` says whether the resource differs; no
    /// dotted or qualified key is ever stored; and a resource valid for PUT stays valid.
    #[test]
    fn patch_is_total_and_keeps_resources_valid(
        user in arb_user(),
        operations in prop::collection::vec(arb_operation(), 1..4),
    ) {
        let registry = SchemaRegistry::standard();
        let users = registry.resource_type("User").unwrap();
        let request = request(Value::Array(operations));
        match apply(&user, &request, users, &PatchOptions::default()) {
            Err(error) => prop_assert_eq!(error.status(), 400, "{}", error),
            Ok(patched) => {
                prop_assert_eq!(patched.changed, patched.resource != user);
                let object = patched.resource.as_object().unwrap();
                for key in object.keys() {
                    prop_assert!(
                        !key.contains('.') || key == ENTERPRISE_USER,
                        "literal key {} in {}", key, patched.resource
                    );
                }
                let options = ValidationOptions::default();
                if validate_replace(&user, &user, users, &options).is_ok() {
                    let checked = validate_replace(&patched.resource, &user, users, &options);
                    prop_assert!(
                        checked.is_ok(),
                        "{} -> {}: {:?}", user, patched.resource, checked
                    );
                }
                // Applying the result again never panics either.
                let _ = apply(&patched.resource, &request, users, &PatchOptions::default());
            }
        }
    }
}

/// RFC 7644 §3.5.2.1 with a path that is an extension URN: a `schemas` member inside the
/// extension's object (as scim2-models sends it) is ignored, not an unknown attribute.
#[test]
fn extension_object_with_its_own_schemas_member() {
    let registry = scim_model::schema::SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen",
    });
    let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for op in ["add", "replace"] {
        let request: scim_model::message::PatchRequest = serde_json::from_value(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": urn, "value": {"schemas": [urn], "employeeNumber": "42"}}],
        }))
        .unwrap();
        let patched = scim_model::patch::apply(
            &user,
            &request,
            rt,
            &scim_model::patch::PatchOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(
            patched.resource[urn],
            serde_json::json!({"employeeNumber": "42"}),
            "{op}"
        );
        assert_eq!(
            patched.resource["schemas"],
            serde_json::json!(["urn:ietf:params:scim:schemas:core:2.0:User", urn])
        );
    }
}

/// Attributes of a schema URN the resource type does not have (an IdP's own extension) are
/// skipped by default, as validation drops them from POST and PUT; the strict options refuse
/// them with `invalidPath` (interop profile §5.3).
#[test]
fn unknown_schema_attributes_are_skipped_unless_strict() {
    let registry = scim_model::schema::SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen",
    });
    let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let request: scim_model::message::PatchRequest = serde_json::from_value(serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": format!("{custom}:tag"), "value": "1"},
            {"op": "add", "path": format!("{custom}:list[value eq \"x\"]"), "value": {"value": "x"}},
            {"op": "add", "value": {custom: {"tag": "2"}, "nickName": "Babs"}},
        ],
    }))
    .unwrap();
    let default = scim_model::patch::PatchOptions::default();
    let patched = scim_model::patch::apply(&user, &request, rt, &default).unwrap();
    assert_eq!(patched.resource["nickName"], serde_json::json!("Babs"));
    assert!(patched.resource.get(custom).is_none());
    assert_eq!(patched.attributes, ["nickName"]);

    let strict = scim_model::patch::PatchOptions::strict();
    let error = scim_model::patch::apply(&user, &request, rt, &strict).unwrap_err();
    assert_eq!(
        error.scim_type(),
        Some(scim_model::message::ScimType::InvalidPath)
    );
    assert!(
        error.detail().contains("CustomExtensionName"),
        "{}",
        error.detail()
    );
}
