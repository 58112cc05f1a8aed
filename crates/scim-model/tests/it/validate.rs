//! Validation of POST and PUT bodies (RFC 7643 §2, §3, §7; RFC 7644 §3.3, §3.5.1), on the
//! RFC 7643 §8 examples and on bodies shaped as Okta and Entra ID send them.

use scim_model::error::ScimError;
use scim_model::message::ScimType;
use scim_model::schema::{
    Attribute, AttributeType, Mutability, ResourceType, Returned, Schema, SchemaRegistry,
    ENTERPRISE_USER, GROUP, USER,
};
use scim_model::validate::{
    validate_create, validate_replace, CanonicalValues, UnknownAttributes, Validated,
    ValidationOptions,
};
use serde_json::{json, Value};

use crate::rfc_example;

/// A custom extension schema an Entra ID tenant declares; this server does not know it.
const ENTRA_CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
/// The URN Entra ID puts on Groups beside the core one.
const ADSCIM_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
/// The core schema of the test-only `Device` resource type.
pub const DEVICE: &str = "urn:example:params:scim:schemas:core:2.0:Device";
/// Its required extension.
pub const INVENTORY: &str = "urn:example:params:scim:schemas:extension:inventory:2.0:Device";

/// A registry with a `Device` resource type whose attributes cover every type, mutability and
/// `returned` value of RFC 7643 §2.2 / §2.3 that the standard schemas lack.
pub fn devices() -> SchemaRegistry {
    let string = |name: &str| Attribute::new(name, AttributeType::String);
    let device = Schema::new(
        DEVICE,
        "Device",
        "A device",
        vec![
            string("serial").with_required(true),
            Attribute::new("weight", AttributeType::Decimal),
            Attribute::new("slots", AttributeType::Integer),
            Attribute::new("purchased", AttributeType::DateTime),
            Attribute::new("firmware", AttributeType::Binary),
            string("tags").with_multi_valued(true),
            string("status").with_canonical_values(["active", "retired"]),
            string("hardwareId").with_mutability(Mutability::Immutable),
            string("secret")
                .with_mutability(Mutability::WriteOnly)
                .with_returned(Returned::Never),
            string("pin").with_returned(Returned::Request),
            string("kind").with_returned(Returned::Always),
            Attribute::new("owner", AttributeType::Complex).with_sub_attributes(vec![
                string("value").with_required(true).with_case_exact(true),
                string("display"),
                string("badge").with_mutability(Mutability::Immutable),
                string("token").with_mutability(Mutability::WriteOnly),
                string("note").with_returned(Returned::Request),
                string("label").with_returned(Returned::Always),
            ]),
        ],
    );
    let inventory = Schema::new(
        INVENTORY,
        "Inventory",
        "Where a device is",
        vec![string("site"), string("rack")],
    );
    let mut registry = SchemaRegistry::new();
    registry
        .register_schema(device)
        .unwrap_or_else(|e| panic!("{e}"));
    registry
        .register_schema(inventory)
        .unwrap_or_else(|e| panic!("{e}"));
    registry
        .register_resource_type(
            ResourceType::new("Device", "/Devices", "Devices", DEVICE)
                .with_extension(INVENTORY, true),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    registry
}

/// The document to store, with a stand-in "hash" that shows which password it was made of.
fn stored(validated: Validated) -> Value {
    let hash = |password: &scim_model::validate::Password| {
        Ok::<_, std::convert::Infallible>(format!("hash({})", password.expose_for_hashing()))
    };
    match validated.into_document(hash) {
        Ok(document) => document,
        Err(never) => match never {},
    }
}

fn create(body: &Value) -> Result<Value, ScimError> {
    create_with(body, &ValidationOptions::default())
}

fn create_with(body: &Value, options: &ValidationOptions) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let resource_type = match body["schemas"].to_string().to_ascii_lowercase() {
        schemas if schemas.contains(&GROUP.to_ascii_lowercase()) => "Group",
        _ => "User",
    };
    validate_create(
        body,
        registry
            .resource_type(resource_type)
            .unwrap_or_else(|| panic!("no {resource_type} resource type")),
        options,
    )
    .map(stored)
}

fn replace(body: &Value, existing: &Value) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    validate_replace(body, existing, users, &ValidationOptions::default()).map(stored)
}

fn device(body: Value, options: &ValidationOptions) -> Result<Value, ScimError> {
    let registry = devices();
    validate_create(
        &body,
        registry
            .resource_type("Device")
            .unwrap_or_else(|| panic!("no Device resource type")),
        options,
    )
    .map(stored)
}

fn replace_device(body: Value, existing: Value) -> Result<Value, ScimError> {
    let registry = devices();
    let devices = registry
        .resource_type("Device")
        .unwrap_or_else(|| panic!("no Device resource type"));
    validate_replace(&body, &existing, devices, &ValidationOptions::default()).map(stored)
}

/// A valid device body with `extra` merged in.
fn device_body(extra: Value) -> Value {
    let mut body = json!({
        "schemas": [DEVICE, INVENTORY],
        "serial": "SN-1",
        INVENTORY: {"site": "Paris"},
    });
    merge(&mut body, extra);
    body
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

fn user(extra: Value) -> Value {
    let mut body = json!({"schemas": [USER], "userName": "bjensen"});
    merge(&mut body, extra);
    body
}

/// Asserts `result` is an error of `status` and `scim_type` whose detail contains `fragment`.
#[track_caller]
fn assert_error(
    result: Result<Value, ScimError>,
    status: u16,
    scim_type: ScimType,
    fragment: &str,
) -> ScimError {
    let error = match result {
        Ok(value) => panic!("accepted: {value:#}"),
        Err(error) => error,
    };
    assert_eq!(error.status(), status, "{error}");
    assert_eq!(error.scim_type(), Some(scim_type), "{error}");
    assert!(
        error.detail().contains(fragment),
        "`{}` does not contain `{fragment}`",
        error.detail()
    );
    error
}

#[track_caller]
fn invalid_value(result: Result<Value, ScimError>, fragment: &str) -> ScimError {
    assert_error(result, 400, ScimType::InvalidValue, fragment)
}

#[track_caller]
fn invalid_syntax(result: Result<Value, ScimError>, fragment: &str) -> ScimError {
    assert_error(result, 400, ScimType::InvalidSyntax, fragment)
}

fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Some(object) = value.as_object_mut() {
        for key in keys {
            object.remove(*key);
        }
    }
    value
}

/// RFC 7643 §8.1: the minimal user; `id` and `meta` are `readOnly` and "SHALL be ignored"
/// (RFC 7644 §3.3), so the stored document holds `schemas` and `userName` only.
#[test]
fn rfc7643_8_1_minimal_user() {
    let stored = create(&rfc_example("8.1-minimal-user.json")).unwrap();
    assert_eq!(
        stored,
        json!({"schemas": [USER], "userName": "bjensen@example.com"})
    );
}

/// RFC 7643 §8.2: every attribute of the full user is kept as sent, except the `readOnly`
/// ones (`id`, `meta`, `groups`: RFC 7643 §4.1.2 "groups … readOnly"); the `writeOnly`
/// password is stored as the hash made of it (projection keeps it from responses).
#[test]
fn rfc7643_8_2_full_user_is_stored_as_sent_without_read_only_attributes() {
    let body = rfc_example("8.2-full-user.json");
    let stored = create(&body).unwrap();
    let mut expected = without(body, &["id", "meta", "groups"]);
    expected["password"] = json!("hash(t1meMa$heen)");
    assert_eq!(stored, expected);
}

/// RFC 7643 §8.3 and §3.3: the extension's attributes stay under its URN, `schemas` lists it,
/// and `manager.displayName` ("OPTIONAL and READ-ONLY", §4.3) is dropped.
#[test]
fn rfc7643_8_3_enterprise_user() {
    let body = rfc_example("8.3-enterprise-user.json");
    let stored = create(&body).unwrap();
    let mut expected = without(body, &["id", "meta", "groups"]);
    expected[ENTERPRISE_USER]["manager"]
        .as_object_mut()
        .unwrap()
        .remove("displayName");
    expected["password"] = json!("hash(t1meMa$heen)");
    assert_eq!(stored, expected);
    assert_eq!(stored["schemas"], json!([USER, ENTERPRISE_USER]));
}

/// RFC 7643 §8.4: the group and its members.
#[test]
fn rfc7643_8_4_group() {
    let body = rfc_example("8.4-group.json");
    let stored = create(&body).unwrap();
    assert_eq!(stored, without(body, &["id", "meta"]));
}

/// RFC 7644 §3.3: the body is a resource, a JSON object.
#[test]
fn rfc7644_3_3_body_must_be_an_object() {
    for body in [json!([]), json!("user"), json!(null), json!(3)] {
        invalid_syntax(create(&body), "must be a JSON object");
    }
}

/// RFC 7643 §3: "schemas … REQUIRED"; it must name the resource type's core schema, compared
/// case-insensitively, and comes out spelled canonically.
#[test]
fn rfc7643_3_schemas_must_name_the_core_schema() {
    invalid_syntax(create(&json!({"userName": "x"})), "`schemas` is required");
    invalid_syntax(
        create(&json!({"schemas": null, "userName": "x"})),
        "`schemas` is required",
    );
    invalid_syntax(
        create(&json!({"schemas": [], "userName": "x"})),
        &format!("`schemas` must contain `{USER}`"),
    );
    invalid_syntax(
        create(&json!({"schemas": [ENTERPRISE_USER], "userName": "x"})),
        "`schemas` must contain",
    );
    invalid_syntax(
        create(&json!({"schemas": [USER, 7], "userName": "x"})),
        "`schemas` must be an array of schema URIs",
    );
    invalid_syntax(
        create(&json!({"schemas": {"urn": USER}, "userName": "x"})),
        "`schemas` must be an array",
    );
    let shouting = json!({"SCHEMAS": [USER.to_uppercase()], "userName": "x"});
    assert_eq!(
        create(&shouting).unwrap(),
        json!({"schemas": [USER], "userName": "x"})
    );
    // A lone URN is a one-element list unless options are strict.
    let lone = json!({"schemas": USER, "userName": "x"});
    assert_eq!(create(&lone).unwrap()["schemas"], json!([USER]));
    invalid_syntax(
        create_with(&lone, &ValidationOptions::strict()),
        "`schemas` must be an array",
    );
}

/// RFC 7643 §3: unknown schema URNs (Entra ID's custom extensions, its ADSCIM Group URN) are
/// dropped with the data keyed by them, even when unknown attributes are rejected; `schemas`
/// is recomputed from the data kept.
#[test]
fn rfc7643_3_unknown_schemas_are_dropped_with_their_data() {
    let body = json!({
        "schemas": [USER, ENTRA_CUSTOM],
        "userName": "bjensen",
        ENTRA_CUSTOM: {"costCode": "X1"},
    });
    let expected = json!({"schemas": [USER], "userName": "bjensen"});
    assert_eq!(create(&body).unwrap(), expected);
    assert_eq!(
        create_with(&body, &ValidationOptions::strict()).unwrap(),
        expected
    );

    // The interop profile (§5.3) refuses them instead, when asked to.
    let profile = ValidationOptions {
        reject_unknown_schemas: true,
        ..ValidationOptions::strict()
    };
    invalid_syntax(create_with(&body, &profile), "unknown schema");

    let group = json!({
        "schemas": [GROUP, ADSCIM_GROUP],
        "displayName": "Tour Guides",
        ADSCIM_GROUP: {"whatever": true},
    });
    assert_eq!(
        create_with(&group, &ValidationOptions::strict()).unwrap(),
        json!({"schemas": [GROUP], "displayName": "Tour Guides"})
    );
}

/// RFC 7643 §3: an extension declared without data is not listed; data under a known
/// extension's URN is kept and listed even if `schemas` forgot it; `schemas` is the core URN
/// then the extensions holding data.
#[test]
fn rfc7643_3_schemas_lists_the_extensions_holding_data() {
    let declared_empty = user(json!({"schemas": [USER, ENTERPRISE_USER], ENTERPRISE_USER: {}}));
    assert_eq!(create(&declared_empty).unwrap()["schemas"], json!([USER]));
    let all_null = user(json!({ENTERPRISE_USER: {"department": null, "manager": {"value": null}}}));
    let stored = create(&all_null).unwrap();
    assert_eq!(stored, json!({"schemas": [USER], "userName": "bjensen"}));

    let undeclared = user(json!({ENTERPRISE_USER.to_lowercase(): {"Department": "Tours"}}));
    assert_eq!(
        create(&undeclared).unwrap(),
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen",
            ENTERPRISE_USER: {"department": "Tours"},
        })
    );
    invalid_syntax(
        create(&user(json!({ENTERPRISE_USER: "Tours"}))),
        &format!("`{ENTERPRISE_USER}` must be a JSON object"),
    );
}

/// RFC 7643 §6 `schemaExtensions.required`: "a resource of this type MUST include this schema
/// extension".
#[test]
fn rfc7643_6_required_extension() {
    let options = ValidationOptions::default();
    invalid_value(
        device(
            json!({"schemas": [DEVICE, INVENTORY], "serial": "SN-1"}),
            &options,
        ),
        &format!("resource type `Device` requires the extension `{INVENTORY}`"),
    );
    invalid_value(
        device(device_body(json!({INVENTORY: {"site": null}})), &options),
        "requires the extension",
    );
    let stored = device(device_body(json!({})), &options).unwrap();
    assert_eq!(stored["schemas"], json!([DEVICE, INVENTORY]));
}

/// RFC 7643 §2.1 and RFC 7644 §3.10: attribute names and URNs are case-insensitive; the stored
/// document spells them as the schema does.
#[test]
fn rfc7643_2_1_names_are_normalised_to_their_canonical_spelling() {
    let body = json!({
        "Schemas": [USER.to_uppercase(), ENTERPRISE_USER.to_lowercase()],
        "USERNAME": "bjensen",
        "Name": {"GivenName": "Barbara", "FAMILYNAME": "Jensen"},
        "emails": [{"VALUE": "bjensen@example.com", "Type": "work", "PRIMARY": true}],
        "X509CERTIFICATES": [{"value": "TWFu"}],
        "externalid": "701984",
        ENTERPRISE_USER.to_uppercase(): {"EMPLOYEENUMBER": "701984", "Manager": {"VALUE": "26118915"}},
    });
    assert_eq!(
        create(&body).unwrap(),
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "x509Certificates": [{"value": "TWFu"}],
            "externalId": "701984",
            ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        })
    );
}

/// RFC 7644 §3.10: the fully qualified form `urn:…:User:userName` names the same attribute;
/// a qualified extension attribute lands under its URN.
#[test]
fn rfc7644_3_10_qualified_names_in_the_body() {
    let body = json!({
        "schemas": [USER],
        format!("{USER}:userName"): "bjensen",
        format!("{ENTERPRISE_USER}:employeeNumber"): "701984",
    });
    assert_eq!(
        create(&body).unwrap(),
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen",
            ENTERPRISE_USER: {"employeeNumber": "701984"},
        })
    );
}

/// The same attribute twice in different cases is ambiguous: which one to store?
#[test]
fn an_attribute_given_twice_is_invalid_syntax() {
    invalid_syntax(
        create(&user(json!({"USERNAME": "other"}))),
        "`userName` is given more than once",
    );
    invalid_syntax(
        create(&user(json!({"name": {"givenName": "a", "GIVENNAME": "b"}}))),
        "`name.givenName` is given more than once",
    );
    invalid_syntax(
        create(&user(json!({
            format!("{ENTERPRISE_USER}:department"): "a",
            ENTERPRISE_USER: {"department": "b"},
        }))),
        &format!("`{ENTERPRISE_USER}:department` is given more than once"),
    );
}

/// Unknown attributes: dropped by default (identity providers send extras), 400
/// `invalidSyntax` when rejected (SCIM interoperability profile §5.3), at every level.
#[test]
fn unknown_attributes_are_ignored_or_rejected() {
    let body = user(json!({
        "shoeSize": 44,
        "name": {"givenName": "Barbara", "nickname": "Babs"},
        "emails": [{"value": "b@example.com", "label": "x"}],
        ENTERPRISE_USER: {"badgeColour": "red", "department": "Tours"},
    }));
    assert_eq!(
        create(&body).unwrap(),
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "b@example.com"}],
            ENTERPRISE_USER: {"department": "Tours"},
        })
    );
    let reject = ValidationOptions {
        unknown_attributes: UnknownAttributes::Reject,
        ..ValidationOptions::default()
    };
    let cases = [
        (
            json!({"shoeSize": 44}),
            "unknown attribute `shoeSize` for resource type `User`".to_owned(),
        ),
        (
            json!({"name": {"nickname": "Babs"}}),
            "unknown attribute `name.nickname`".to_owned(),
        ),
        (
            json!({"emails": [{"label": "x"}]}),
            "unknown attribute `emails[0].label`".to_owned(),
        ),
        (
            json!({ENTERPRISE_USER: {"badgeColour": "red"}}),
            format!("unknown attribute `{ENTERPRISE_USER}:badgeColour`"),
        ),
        (
            json!({"employeeNumber": "1"}),
            "extension attributes go under their schema URN".to_owned(),
        ),
        (
            json!({"name.givenName": "Barbara"}),
            "unknown attribute `name.givenName`".to_owned(),
        ),
        (
            json!({USER: {"userName": "x"}}),
            format!("unknown attribute `{USER}`"),
        ),
    ];
    for (extra, fragment) in cases {
        invalid_syntax(create_with(&user(extra), &reject), &fragment);
    }
}

/// RFC 7644 §3.3 and §3.5.1: "attributes whose mutability is 'readOnly' … SHALL be ignored",
/// whatever their shape — Okta sends `meta.created` as `"04-12-2018 00:00:00"`.
#[test]
fn rfc7644_3_3_read_only_attributes_are_ignored_whatever_their_shape() {
    let body = user(json!({
        "id": 42,
        "meta": {"created": "04-12-2018 00:00:00", "version": "v1.0"},
        "groups": "not even an array",
        ENTERPRISE_USER: {"manager": {"value": "m-1", "displayName": 5}},
    }));
    let stored = create_with(&body, &ValidationOptions::strict()).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen",
            ENTERPRISE_USER: {"manager": {"value": "m-1"}},
        })
    );
    let meta_string = user(json!({"meta": "whatever", "ID": ["x"], "Id": null}));
    assert_eq!(
        create(&meta_string).unwrap(),
        json!({"schemas": [USER], "userName": "bjensen"})
    );
}

/// RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array … SHALL be considered
/// to be equivalent in 'state'": dropped. An empty string is a value and is kept as sent.
#[test]
fn rfc7643_2_5_null_and_empty_arrays_are_unassigned() {
    let body = user(json!({
        "title": null,
        "addresses": null,
        "emails": [],
        "phoneNumbers": [null, {}, {"value": null}, {"value": "555-555-5555"}],
        "name": {"givenName": null},
        "nickName": "",
        "displayName": "",
    }));
    assert_eq!(
        create(&body).unwrap(),
        json!({
            "schemas": [USER],
            "userName": "bjensen",
            "phoneNumbers": [{"value": "555-555-5555"}],
            "nickName": "",
            "displayName": "",
        })
    );
}

/// RFC 7643 §2.3: each data type, and the error naming the attribute path when a value has the
/// wrong one.
#[test]
fn rfc7643_2_3_data_types() {
    let options = ValidationOptions::default();
    let ok = device(
        device_body(json!({
            "weight": 1.5,
            "slots": 4,
            "purchased": "2011-05-13T04:42:34Z",
            "firmware": "TWFuIGlzIGRpc3Rpbmd1aXNoZWQ=",
            "tags": ["a", "b"],
        })),
        &options,
    )
    .unwrap();
    assert_eq!(ok["weight"], json!(1.5));
    assert_eq!(ok["slots"], json!(4));
    // Kept as sent, not reformatted.
    assert_eq!(ok["purchased"], "2011-05-13T04:42:34Z");
    let offset = device(
        device_body(json!({"purchased": "2011-05-13T06:42:34.5+02:00"})),
        &options,
    )
    .unwrap();
    assert_eq!(offset["purchased"], "2011-05-13T06:42:34.5+02:00");
    // §2.3.4: "A whole number with no fractional digits"; 3.0 is one, stored as 3.
    assert_eq!(
        device(device_body(json!({"slots": 3.0})), &options).unwrap()["slots"],
        json!(3)
    );
    assert_eq!(
        device(device_body(json!({"weight": 2})), &options).unwrap()["weight"],
        json!(2)
    );

    let device_cases = [
        (json!({"serial": 5}), "`serial` must be a string"),
        (json!({"weight": "1.5"}), "`weight` must be a number"),
        (json!({"slots": 2.5}), "`slots` must be an integer"),
        (json!({"slots": "2"}), "`slots` must be an integer"),
        (
            json!({"purchased": "04-12-2018 00:00:00"}),
            "`purchased` must be an xsd:dateTime",
        ),
        (
            json!({"purchased": 1_300_000_000}),
            "`purchased` must be an xsd:dateTime",
        ),
        (
            json!({"firmware": "not base64!"}),
            "`firmware` must be a base64-encoded string",
        ),
        (
            json!({"firmware": "TWE"}),
            "`firmware` must be a base64-encoded string",
        ),
        (json!({"tags": ["a", 1]}), "`tags[1]` must be a string"),
        (json!({"owner": true}), "`owner` must be a JSON object"),
        (json!({"owner": 42}), "`owner.value` must be a string"),
    ];
    for (extra, fragment) in device_cases {
        invalid_value(device(device_body(extra), &options), fragment);
    }

    let user_cases = [
        (json!({"userName": 5}), "`userName` must be a string"),
        (json!({"active": "yes"}), "`active` must be a boolean"),
        (json!({"active": 1}), "`active` must be a boolean"),
        (json!({"profileUrl": 5}), "`profileUrl` must be a string holding a reference"),
        (json!({"emails": [{"value": "a@b", "primary": "maybe"}]}), "`emails[0].primary` must be a boolean"),
        (json!({"x509Certificates": [{"value": "MII-not base64"}]}), "`x509Certificates[0].value` must be a base64"),
        (json!({"name": "Barbara Jensen"}), "`name` must be a JSON object"),
        (json!({"name": ["Barbara"]}), "`name` is single-valued and must not be an array"),
        (json!({"emails": ["a@b"]}), "`emails[0]` must be a JSON object"),
        (json!({"emails": "a@b"}), "`emails` must be a JSON object"),
        (json!({"externalId": {"value": "x"}}), "`externalId` must be a string"),
        (
            json!({ENTERPRISE_USER: {"manager": {"value": 7}}}),
            "`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` must be a string",
        ),
    ];
    for (extra, fragment) in user_cases {
        invalid_value(create(&user(extra)), fragment);
    }
}

/// Entra ID sends `"active": "False"`, OneLogin templates `"true"`: read as booleans unless
/// options are strict.
#[test]
fn boolean_strings_are_coerced_unless_strict() {
    for (text, expected) in [
        ("True", true),
        ("false", false),
        ("FALSE", false),
        ("true", true),
    ] {
        let stored = create(&user(
            json!({"active": text, "emails": [{"value": "a@b", "primary": text}]}),
        ))
        .unwrap();
        assert_eq!(stored["active"], json!(expected), "{text}");
        assert_eq!(stored["emails"][0]["primary"], json!(expected), "{text}");
    }
    invalid_value(
        create_with(
            &user(json!({"active": "True"})),
            &ValidationOptions::strict(),
        ),
        "`active` must be a boolean",
    );
}

/// RFC 7643 §2.4 multi-valued attributes are arrays; a lone value is wrapped unless options
/// are strict.
#[test]
fn rfc7643_2_4_lone_values_of_multi_valued_attributes() {
    let stored = create(&user(
        json!({"emails": {"value": "bjensen@example.com", "type": "work"}}),
    ))
    .unwrap();
    assert_eq!(
        stored["emails"],
        json!([{"value": "bjensen@example.com", "type": "work"}])
    );
    let tags = device(
        device_body(json!({"tags": "lab"})),
        &ValidationOptions::default(),
    )
    .unwrap();
    assert_eq!(tags["tags"], json!(["lab"]));
    let tags = device(
        device_body(json!({"tags": [null, "lab"]})),
        &ValidationOptions::default(),
    )
    .unwrap();
    assert_eq!(tags["tags"], json!(["lab"]));
    invalid_value(
        create_with(
            &user(json!({"emails": {"value": "b@example.com"}})),
            &ValidationOptions::strict(),
        ),
        "`emails` is multi-valued and must be an array",
    );
}

/// Entra ID sends the enterprise `manager` as the manager's id: stored as `{"value": id}`
/// (RFC 7643 §4.3), for any singular complex attribute with a `value` sub-attribute.
#[test]
fn bare_values_of_complex_attributes() {
    let stored = create(&user(json!({ENTERPRISE_USER: {"manager": "26118915"}}))).unwrap();
    assert_eq!(
        stored[ENTERPRISE_USER],
        json!({"manager": {"value": "26118915"}})
    );
    // An empty bare value means no manager.
    let stored = create(&user(json!({ENTERPRISE_USER: {"manager": ""}}))).unwrap();
    assert_eq!(stored, json!({"schemas": [USER], "userName": "bjensen"}));
    let owner = device(
        device_body(json!({"owner": "u-1"})),
        &ValidationOptions::default(),
    )
    .unwrap();
    assert_eq!(owner["owner"], json!({"value": "u-1"}));
    // `name` has no `value` sub-attribute, so a bare string stays an error.
    invalid_value(
        create(&user(json!({"name": "Barbara"}))),
        "`name` must be a JSON object",
    );
    invalid_value(
        create_with(
            &user(json!({ENTERPRISE_USER: {"manager": "26118915"}})),
            &ValidationOptions::strict(),
        ),
        &format!("`{ENTERPRISE_USER}:manager` must be a JSON object"),
    );
}

/// RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once."
#[test]
fn rfc7643_2_4_at_most_one_primary() {
    let two = user(json!({"emails": [
        {"value": "a@example.com", "primary": true},
        {"value": "b@example.com", "primary": false},
        {"value": "c@example.com", "primary": "True"},
    ]}));
    invalid_value(create(&two), "`emails` has 2 values with `primary` true");
    let one = user(json!({"addresses": [
        {"locality": "Hollywood", "primary": true},
        {"locality": "Paris", "primary": false},
    ]}));
    assert!(create(&one).is_ok());
}

/// RFC 7643 §2.2 `required`, §4.1.1 ("Each User MUST include a non-empty userName value") and
/// §4.2 (Group `displayName` REQUIRED): missing, unassigned or empty is 400 `invalidValue`;
/// required sub-attributes of a present complex value likewise.
#[test]
fn rfc7643_2_2_required_attributes() {
    for body in [
        json!({"schemas": [USER]}),
        json!({"schemas": [USER], "userName": null}),
        json!({"schemas": [USER], "userName": ""}),
        json!({"schemas": [USER], "username": []}),
    ] {
        invalid_value(
            create(&body),
            "required attribute `userName` is missing or empty",
        );
    }
    invalid_value(
        create(&json!({"schemas": [GROUP], "members": []})),
        "required attribute `displayName` is missing or empty",
    );
    let options = ValidationOptions::default();
    invalid_value(
        device(device_body(json!({"owner": {"display": "Babs"}})), &options),
        "required sub-attribute `owner.value` is missing or empty",
    );
    invalid_value(
        device(device_body(json!({"serial": null})), &options),
        "required attribute `serial`",
    );
    // An owner with nothing in it is unassigned, so its required sub-attribute is not asked.
    assert!(device(device_body(json!({"owner": {"display": null}})), &options).is_ok());
}

/// RFC 7643 §7 `canonicalValues`: suggestions by default ("service providers MAY allow other
/// values"), enforced case-insensitively on request; values are stored as sent.
#[test]
fn rfc7643_7_canonical_values() {
    let mobile_email = user(json!({"emails": [{"value": "a@b", "type": "mobile"}]}));
    assert!(create(&mobile_email).is_ok());
    let enforce = ValidationOptions {
        canonical_values: CanonicalValues::Enforce,
        ..ValidationOptions::default()
    };
    invalid_value(
        create_with(&mobile_email, &enforce),
        "`emails[0].type` must be one of `work`, `home`, `other`",
    );
    let shouting = user(json!({"emails": [{"value": "a@b", "type": "WORK"}]}));
    assert_eq!(
        create_with(&shouting, &enforce).unwrap()["emails"][0]["type"],
        "WORK"
    );
    invalid_value(
        device(device_body(json!({"status": "lost"})), &enforce),
        "`status` must be one of `active`, `retired`",
    );
}

/// RFC 7643 §4.1.1 `password` is `writeOnly` and "SHOULD NOT" be stored in cleartext: the
/// validated document never holds it; it comes out apart, redacted in `Debug`, and the document
/// to store holds what the caller's hash makes of it. It is never echoed in an error detail.
#[test]
fn rfc7643_4_1_1_password_is_kept_out_of_the_document_and_never_echoed() {
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    let body = user(json!({"password": "t1meMa$heen"}));
    let validated = validate_create(&body, users, &ValidationOptions::default()).unwrap();
    assert_eq!(
        validated.document(),
        &json!({"schemas": [USER], "userName": "bjensen"})
    );
    let password = validated.password().unwrap();
    assert_eq!(password.expose_for_hashing(), "t1meMa$heen");
    let debug = format!("{validated:?}");
    assert!(!debug.contains("t1meMa"), "{debug}");
    assert!(debug.contains("Password(<redacted>)"), "{debug}");
    assert_eq!(
        stored(validated),
        json!({"schemas": [USER], "userName": "bjensen", "password": "hash(t1meMa$heen)"})
    );
    // The same body in another case: the name is canonical, the password still apart.
    let shouted = user(json!({"PASSWORD": "t1meMa$heen"}));
    let (document, password) = validate_create(&shouted, users, &ValidationOptions::default())
        .unwrap()
        .into_parts();
    assert!(document.get("password").is_none() && document.get("PASSWORD").is_none());
    assert_eq!(password.unwrap().expose_for_hashing(), "t1meMa$heen");
    // Without a password there is nothing to hash.
    let none = validate_create(&user(json!({})), users, &ValidationOptions::default()).unwrap();
    assert!(none.password().is_none());

    let error = invalid_value(
        create(&user(json!({"password": 987_654_321}))),
        "`password` must be a string",
    );
    assert!(!error.detail().contains("987654321"), "{}", error.detail());
    let error = invalid_value(
        create(&user(json!({"password": ["s3cr3t-value"]}))),
        "`password` is single-valued",
    );
    assert!(!error.detail().contains("s3cr3t"), "{}", error.detail());
}

/// An Entra ID POST: boolean as a string, `manager` as a bare id, explicit nulls, a custom
/// extension this server does not know, and `schemas` naming it.
#[test]
fn entra_id_post_is_accepted() {
    let body = json!({
        "schemas": [USER, ENTERPRISE_USER, ENTRA_CUSTOM],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": "True",
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User@example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "addresses": null,
        "title": null,
        "roles": [],
        ENTERPRISE_USER: {"employeeNumber": "12345", "department": "Tours", "manager": "e1f2a3b4"},
        ENTRA_CUSTOM: {"customAttribute": "x"},
    });
    let stored = create(&body).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "displayName": "Test User",
            "emails": [{"primary": true, "type": "work", "value": "Test_User@example.com"}],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            ENTERPRISE_USER: {"employeeNumber": "12345", "department": "Tours", "manager": {"value": "e1f2a3b4"}},
        })
    );
}

/// An Okta PUT (RFC 7644 §3.5.1): the whole user back, with `id`, the password, Okta's
/// `meta` with a non-RFC date, and an empty `groups`.
#[test]
fn okta_put_is_accepted() {
    let existing = json!({
        "schemas": [USER],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "active": true,
        "password": "old-secret",
        "title": "Engineer",
        "meta": {"resourceType": "User", "created": "2018-04-12T00:00:00Z", "version": "W/\"1\""},
    });
    let body = json!({
        "schemas": [USER],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "active": false,
        "password": "1mC00l!",
        "groups": [],
        "meta": {"created": "04-12-2018 00:00:00", "version": "v1.0"},
    });
    let stored = replace(&body, &existing).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "active": false,
            "password": "hash(1mC00l!)",
        })
    );
}

/// RFC 7644 §3.5.1: readWrite attributes the PUT omits are cleared, the writeOnly password it
/// omits is kept (the client cannot read it back to resend it), readOnly ones are dropped.
#[test]
fn rfc7644_3_5_1_replace_clears_omitted_and_keeps_write_only() {
    let existing = create(&user(json!({
        "password": "s3cret",
        "title": "Tour Guide",
        ENTERPRISE_USER: {"department": "Tours"},
    })))
    .unwrap();
    let stored = replace(
        &user(json!({"id": "new-id", "displayName": "Babs"})),
        &existing,
    )
    .unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [USER],
            "userName": "bjensen",
            "displayName": "Babs",
            "password": "hash(s3cret)",
        })
    );
    let changed = replace(&user(json!({"password": "n3w"})), &existing).unwrap();
    assert_eq!(changed["password"], "hash(n3w)");
    // null is unassigned (RFC 7643 §2.5), the same as omitted: the password stays.
    let null = replace(&user(json!({"password": null})), &existing).unwrap();
    assert_eq!(null["password"], "hash(s3cret)");
    // Replace validates like create.
    invalid_value(
        replace(&json!({"schemas": [USER]}), &existing),
        "`userName`",
    );
}

/// A replace tells the stored password from a new one: a body that sets none, or sets exactly
/// the stored value (a PATCH applied to the stored document that did not touch it), keeps it
/// in the document with nothing to hash; any other value, even one shaped like a hash, is a new
/// password. Only the User's `password` is taken out: another type's `writeOnly` attribute
/// stays in the document.
#[test]
fn replace_tells_the_stored_password_from_a_new_one() {
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    let options = ValidationOptions::default();
    let existing =
        json!({"schemas": [USER], "userName": "bjensen", "password": "$argon2id$stored"});

    let kept = validate_replace(&user(json!({})), &existing, users, &options).unwrap();
    assert!(kept.password().is_none());
    assert_eq!(kept.document()["password"], "$argon2id$stored");

    let resent = user(json!({"password": "$argon2id$stored"}));
    let resent = validate_replace(&resent, &existing, users, &options).unwrap();
    assert!(resent.password().is_none());
    assert_eq!(resent.document()["password"], "$argon2id$stored");

    let planted = user(json!({"password": "$argon2id$planted"}));
    let planted = validate_replace(&planted, &existing, users, &options).unwrap();
    assert!(planted.document().get("password").is_none());
    assert_eq!(
        planted.password().map(|p| p.expose_for_hashing()),
        Some("$argon2id$planted")
    );

    // The PATCH flow: apply to the stored document, validate the result against it.
    let request = |operations: Value| {
        serde_json::from_value::<scim_model::message::PatchRequest>(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        }))
        .unwrap()
    };
    let patch_options = scim_model::patch::PatchOptions::default();
    let untouched = request(json!([{"op": "replace", "path": "title", "value": "Guide"}]));
    let patched = scim_model::patch::apply(&existing, &untouched, users, &patch_options).unwrap();
    let validated = validate_replace(&patched.resource, &existing, users, &options).unwrap();
    assert!(validated.password().is_none());
    assert_eq!(stored(validated)["password"], "$argon2id$stored");
    let set = request(json!([{"op": "replace", "path": "password", "value": "n3w-Pass"}]));
    let patched = scim_model::patch::apply(&existing, &set, users, &patch_options).unwrap();
    let validated = validate_replace(&patched.resource, &existing, users, &options).unwrap();
    assert!(validated.document().get("password").is_none());
    assert_eq!(stored(validated)["password"], "hash(n3w-Pass)");

    let device = device(device_body(json!({"secret": "hush"})), &options).unwrap();
    assert_eq!(device["secret"], "hush");
}

/// RFC 7644 §3.5.1 immutable: "If one or more values are already set for the attribute, the
/// input value(s) MUST match, or HTTP status code 400 SHOULD be returned with a 'scimType'
/// error code of 'mutability'. If the service provider has no existing values, the new
/// value(s) SHALL be applied."
#[test]
fn rfc7644_3_5_1_immutable_attributes() {
    let existing = json!({
        "schemas": [DEVICE, INVENTORY],
        "serial": "SN-1",
        "hardwareId": "ab-12",
        "secret": "hush",
        "owner": {"value": "u-1", "badge": "B7", "token": "t0k"},
        INVENTORY: {"site": "Paris"},
    });
    assert_error(
        replace_device(
            device_body(json!({"hardwareId": "cd-34"})),
            existing.clone(),
        ),
        400,
        ScimType::Mutability,
        "`hardwareId` is immutable",
    );
    // The same value, in another case of a case-insensitive attribute, matches.
    let same = replace_device(
        device_body(json!({"hardwareId": "AB-12", "owner": {"value": "u-2"}})),
        existing.clone(),
    )
    .unwrap();
    assert_eq!(same["hardwareId"], "AB-12");
    // Omitted: kept, with the writeOnly values, down to the sub-attributes of `owner`.
    let omitted = replace_device(
        device_body(json!({"owner": {"value": "u-2"}})),
        existing.clone(),
    )
    .unwrap();
    assert_eq!(omitted["hardwareId"], "ab-12");
    assert_eq!(omitted["secret"], "hush");
    assert_eq!(
        omitted["owner"],
        json!({"value": "u-2", "badge": "B7", "token": "t0k"})
    );
    let no_owner = replace_device(device_body(json!({})), existing.clone()).unwrap();
    assert_eq!(no_owner["owner"], json!({"badge": "B7", "token": "t0k"}));
    assert_error(
        replace_device(
            device_body(json!({"owner": {"value": "u-1", "badge": "B8"}})),
            existing.clone(),
        ),
        400,
        ScimType::Mutability,
        "`owner.badge` is immutable",
    );
    // No existing value: the new one applies.
    let unset =
        json!({"schemas": [DEVICE, INVENTORY], "serial": "SN-1", INVENTORY: {"site": "Paris"}});
    let set = replace_device(device_body(json!({"hardwareId": "ef-56"})), unset).unwrap();
    assert_eq!(set["hardwareId"], "ef-56");
}

/// RFC 7643 §4.2: Group `members` sub-attributes are immutable per value; a PUT that swaps
/// the members adds and removes values rather than changing one, so it is allowed.
#[test]
fn rfc7643_4_2_group_members_may_be_replaced() {
    let registry = SchemaRegistry::standard();
    let groups = registry
        .resource_type("Group")
        .unwrap_or_else(|| panic!("no Group resource type"));
    let existing = rfc_example("8.4-group.json");
    let body = json!({
        "schemas": [GROUP],
        "displayName": "Tour Guides",
        "members": [{"value": "new-member", "display": "Newcomer"}],
    });
    let stored = validate_replace(&body, &existing, groups, &ValidationOptions::default()).unwrap();
    assert_eq!(stored.document(), &body);
}
