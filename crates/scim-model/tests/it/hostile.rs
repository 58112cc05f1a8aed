//! Hostile input (issue 9): values no store can hold, requests the RFC refuses, and sizes that
//! would exhaust the server. Each answer is an RFC 7644 §3.12 error, and a refused PATCH
//! changes nothing (§3.5.2: "SHALL be treated as atomic").

use scim_model::error::ScimError;
use scim_model::limits::Limits;
use scim_model::message::{ScimType, PATCH_OP};
use scim_model::patch::{apply, request_from_value, PatchOptions};
use scim_model::project::Projection;
use scim_model::schema::SchemaRegistry;
use scim_model::validate::{validate_create, validate_replace, Validated, ValidationOptions};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The validated document; these tests send no password, so there is none to hash.
fn document(validated: Validated) -> Value {
    assert!(validated.password().is_none());
    validated.into_parts().0
}

fn create(resource_type: &str, body: &Value) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let view = registry
        .resource_type(resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} resource type"));
    validate_create(body, view, &ValidationOptions::default()).map(document)
}

fn replace(body: &Value, existing: &Value) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    validate_replace(body, existing, users, &ValidationOptions::default()).map(document)
}

fn patch_with(
    resource: &Value,
    operations: Value,
    options: &PatchOptions,
) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    let request = request_from_value(json!({"schemas": [PATCH_OP], "Operations": operations}))
        .unwrap_or_else(|e| panic!("{e}"));
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

fn create_with_limits(
    resource_type: &str,
    body: &Value,
    limits: Limits,
) -> Result<Value, ScimError> {
    let registry = SchemaRegistry::standard();
    let view = registry
        .resource_type(resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} resource type"));
    let options = ValidationOptions {
        limits,
        ..ValidationOptions::default()
    };
    validate_create(body, view, &options).map(document)
}

fn patch_limited(resource: &Value, operations: Value, limits: Limits) -> Result<Value, ScimError> {
    let options = PatchOptions {
        limits,
        ..PatchOptions::default()
    };
    patch_with(resource, operations, &options)
}

/// RFC 7644 §3.12 lists `invalidValue` for "A required value was missing, or the value
/// specified was not compatible with the operation or attribute type", and 413 for "Request
/// payload too large". A string longer than [`Limits::max_string_bytes`] is such a value,
/// on POST, PUT and PATCH alike, and on a PATCH even where the engine never sees it.
#[test]
fn strings_are_bounded() {
    let defaults = Limits::default();
    assert_eq!(defaults.max_string_bytes, 16 * 1024);
    let long = "x".repeat(defaults.max_string_bytes + 1);
    let body = json!({"schemas": [USER], "userName": "bjensen", "title": long});
    assert_400(
        create("User", &body),
        ScimType::InvalidValue,
        "`title` is 16385 bytes long",
    );
    assert_400(replace(&body, &bjensen()), ScimType::InvalidValue, "16384");
    assert_400(
        patch(
            &bjensen(),
            json!([{"op": "replace", "path": "title", "value": long}]),
        ),
        ScimType::InvalidValue,
        "16384",
    );
    // Everything a PATCH carries is bounded, even under a schema the server does not serve,
    // whose operations it otherwise skips.
    assert_400(
        patch(
            &bjensen(),
            json!([{"op": "add", "path": "urn:example:unknown:2.0:User:x", "value": long}]),
        ),
        ScimType::InvalidValue,
        "operation 1: value",
    );
    // Exactly at the limit is fine.
    let fits = json!({"schemas": [USER], "userName": "bjensen",
                      "title": "x".repeat(defaults.max_string_bytes)});
    assert!(create("User", &fits).is_ok());
}

/// The values a store indexes (`userName`, `displayName`, `externalId`, `emails.value`) are
/// bounded tighter: a PostgreSQL btree entry holds at most about 2,700 bytes, so a 3 KB
/// userName was a 500. The bound holds for the folded form too, which is what is indexed and
/// can be longer (`İ` is two bytes, its lowercase `i̇` three).
#[test]
fn keys_are_bounded_as_given_and_as_folded() {
    let defaults = Limits::default();
    assert_eq!(defaults.max_key_bytes, 2048);
    let long = "u".repeat(3000);
    for body in [
        json!({"schemas": [USER], "userName": long}),
        json!({"schemas": [USER], "userName": "bjensen", "externalId": long}),
        json!({"schemas": [USER], "userName": "bjensen", "displayName": long}),
        json!({"schemas": [USER], "userName": "bjensen",
               "emails": [{"value": format!("{long}@example.com")}]}),
    ] {
        assert_400(
            create("User", &body),
            ScimType::InvalidValue,
            "at most 2048 bytes",
        );
    }
    let group = json!({"schemas": [GROUP], "displayName": long});
    assert_400(
        create("Group", &group),
        ScimType::InvalidValue,
        "`displayName`",
    );
    // 1,600 bytes as given, 2,400 folded.
    let dotted = json!({"schemas": [USER], "userName": "İ".repeat(800)});
    assert_400(
        create("User", &dotted),
        ScimType::InvalidValue,
        "2400 bytes",
    );
    assert_400(
        patch(
            &bjensen(),
            json!([{"op": "replace", "path": "userName", "value": long}]),
        ),
        ScimType::InvalidValue,
        "userName",
    );
    // Other strings are not keys.
    let nick = json!({"schemas": [USER], "userName": "bjensen", "nickName": long});
    assert!(create("User", &nick).is_ok());
}

/// A multi-valued attribute holds at most [`Limits::max_values`] values, as given (POST, PUT,
/// PATCH) and after a PATCH merged them into what is stored.
#[test]
fn values_per_attribute_are_bounded() {
    assert_eq!(Limits::default().max_values, 1000);
    let emails = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"value": format!("u{i}@example.com")}))
            .collect()
    };
    let body = json!({"schemas": [USER], "userName": "bjensen", "emails": emails(1001)});
    assert_400(
        create("User", &body),
        ScimType::InvalidValue,
        "`emails` has 1001 values",
    );
    let fits = json!({"schemas": [USER], "userName": "bjensen", "emails": emails(1000)});
    let stored = create("User", &fits).unwrap();

    let limits = Limits {
        max_values: 3,
        ..Limits::default()
    };
    let mut user = bjensen();
    user["emails"] = json!(emails(2));
    assert_400(
        patch_limited(
            &user,
            json!([{"op": "add", "path": "emails", "value": emails(4)}]),
            limits,
        ),
        ScimType::InvalidValue,
        "at most 3",
    );
    // Adding two values to two: one is already there, so three are held.
    let merged = patch_limited(
        &user,
        json!([{"op": "add", "path": "emails", "value": [emails(2)[1], {"value": "new@example.com"}]}]),
        limits,
    )
    .unwrap();
    assert_eq!(merged["emails"].as_array().unwrap().len(), 3);
    assert_400(
        patch_limited(
            &merged,
            json!([{"op": "add", "path": "emails", "value": {"value": "fourth@example.com"}}]),
            limits,
        ),
        ScimType::InvalidValue,
        "`emails` would hold more than 3 values",
    );
    assert_eq!(stored["emails"].as_array().unwrap().len(), 1000);
}

/// A PATCH holds at most [`Limits::max_operations`] operations (RFC 7644 §3.5.2 sets no bound;
/// each operation costs a pass over the resource).
#[test]
fn operations_per_patch_are_bounded() {
    assert_eq!(Limits::default().max_operations, 1000);
    let operations = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"op": "replace", "path": "nickName", "value": format!("n{i}")}))
            .collect()
    };
    assert!(patch(&bjensen(), operations(1000)).is_ok());
    assert_400(
        patch(&bjensen(), operations(1001)),
        ScimType::InvalidValue,
        "1001 operations; at most 1000",
    );
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5) name at most
/// [`Limits::max_attribute_names`] attributes, repeats counted; a name given twice is applied
/// once, so a list of repeats costs no more to apply than the name alone.
#[test]
fn attribute_lists_are_bounded_and_deduplicated() {
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    assert_eq!(Limits::default().max_attribute_names, 200);
    let list = |n: usize| vec!["userName"; n].join(",");
    let error = Projection::parse(Some(&list(201)), None, users).unwrap_err();
    assert_eq!(error.scim_type(), Some(ScimType::InvalidValue));
    assert!(error.detail().contains("at most 200"), "{error}");
    let error = Projection::from_lists(&[], &vec!["title".to_owned(); 201], users).unwrap_err();
    assert!(error.detail().contains("`excludedAttributes`"), "{error}");

    let repeated = Projection::parse(Some(&list(200)), None, users).unwrap();
    let once = Projection::parse(Some("userName"), None, users).unwrap();
    assert_eq!(format!("{repeated:?}"), format!("{once:?}"));
    let limits = Limits {
        max_attribute_names: 2,
        ..Limits::default()
    };
    assert!(Projection::parse_with_limits(Some("a,b,c"), None, users, &limits).is_err());
}

/// A path filter in a PATCH has at most [`Limits::max_filter_nodes`] nodes (the same bound as a
/// search filter, RFC 7644 §3.4.2.2), answered as the path error it is.
#[test]
fn patch_path_filters_are_bounded() {
    let limits = Limits {
        max_filter_nodes: 3,
        ..Limits::default()
    };
    let path = |filter: &str| json!([{"op": "remove", "path": format!("emails[{filter}]")}]);
    assert!(patch_limited(&bjensen(), path("type eq \"a\" or type eq \"b\""), limits).is_ok());
    assert_400(
        patch_limited(
            &bjensen(),
            path("type eq \"a\" or type eq \"b\" or type eq \"c\""),
            limits,
        ),
        ScimType::InvalidPath,
        "limit of 3",
    );
}

/// PATCH merges, duplicate checks and removals are hash lookups, not pairwise comparisons: a
/// PATCH of 20,000 `emails` took seconds when each value was compared with every other. Here
/// the behaviour at that scale: RFC 7644 §3.5.2.1 "If the target location specifies a
/// multi-valued attribute, a new value is added to the attribute", and a value already there
/// (the same SCIM value: `emails.value` is case-insensitive) is not added twice; §3.5.2.2 with
/// a value list removes exactly the listed values; §3.5.2.3 `replace` of a multi-valued
/// attribute replaces the collection.
#[test]
fn multi_valued_patches_merge_correctly_at_scale() {
    let limits = Limits {
        max_values: 50_000,
        max_operations: 10,
        ..Limits::default()
    };
    let email = |i: usize| json!({"value": format!("user{i}@example.com"), "type": "work"});
    let shouted = |i: usize| json!({"value": format!("USER{i}@Example.COM"), "type": "work"});
    let emails = |range: std::ops::Range<usize>, form: &dyn Fn(usize) -> Value| -> Vec<Value> {
        range.map(form).collect()
    };
    let mut body = bjensen();
    body["emails"] = json!(emails(0..10_000, &email));
    let user = create_with_limits("User", &body, limits).unwrap();
    assert_eq!(user["emails"].as_array().unwrap().len(), 10_000);

    // 20,000 given: 5,000 already there in another case, 15,000 new, and the new ones' first
    // hundred given twice.
    let mut given = emails(5_000..25_000, &shouted);
    given.extend(emails(10_000..10_100, &email));
    let added = patch_limited(
        &user,
        json!([{"op": "add", "path": "emails", "value": given}]),
        limits,
    )
    .unwrap();
    let held = added["emails"].as_array().unwrap();
    assert_eq!(held.len(), 25_000);
    assert_eq!(held[..10_000], user["emails"].as_array().unwrap()[..]);
    assert_eq!(
        held[10_000],
        shouted(10_000),
        "new values keep the given spelling"
    );
    assert_eq!(held[24_999], shouted(24_999));

    // Remove 20,000 listed values (in either case; 5,000 of them are not there).
    let listed = emails(0..20_000, &|i| {
        if i % 2 == 0 {
            email(i)
        } else {
            shouted(i)
        }
    });
    let removed = patch_limited(
        &added,
        json!([{"op": "remove", "path": "emails", "value": listed}]),
        limits,
    )
    .unwrap();
    assert_eq!(removed["emails"].as_array().unwrap()[..], held[20_000..]);

    // Replace with 20,000 values holding 10,000 distinct ones: the collection is those 10,000.
    let mut doubled = emails(0..10_000, &email);
    doubled.extend(emails(0..10_000, &shouted));
    let replaced = patch_limited(
        &user,
        json!([{"op": "replace", "path": "emails", "value": doubled}]),
        limits,
    )
    .unwrap();
    assert_eq!(replaced["emails"], user["emails"]);

    // Values without a `value` sub-attribute compare as wholes, just as fast.
    let address = |i: usize| json!({"locality": format!("Town {i}"), "type": "home"});
    let addresses: Vec<Value> = (0..20_000).map(|i| address(i % 12_000)).collect();
    let merged = patch_limited(
        &user,
        json!([{"op": "add", "path": "addresses", "value": addresses}]),
        limits,
    )
    .unwrap();
    assert_eq!(merged["addresses"].as_array().unwrap().len(), 12_000);
}

/// The one equality validation and PATCH use (`scim_model::value::same_value`; validation
/// compared collections as sets, PATCH as multisets, and the two could disagree): RFC 7643
/// §2.4 multi-valued attributes are unordered, so reordering is no change, while a repeated
/// value is; strings compare per `caseExact` (§2.2), and unassigned members (§2.5) are absent.
/// Keys are sorted, not paired one by one, so 20,000 values compare in well under a second.
#[test]
fn one_equality_for_collections() {
    use scim_model::value::same_value;
    let registry = SchemaRegistry::standard();
    let users = registry.resource_type("User").unwrap();
    let emails = users.resolve(None, "emails", None).unwrap().attribute();
    let a = json!({"value": "a@x.org"});
    let b = json!({"value": "B@x.org", "type": null});
    assert!(same_value(
        Some(&json!([a, b])),
        Some(&json!([{"value": "b@x.org"}, a])),
        emails
    ));
    assert!(!same_value(
        Some(&json!([a, a, b])),
        Some(&json!([a, b, b])),
        emails
    ));
    assert!(same_value(Some(&json!([])), None, emails));

    let many: Vec<Value> = (0..20_000)
        .map(|i| json!({"value": format!("m{i}@x.org")}))
        .collect();
    let mut reversed = many.clone();
    reversed.reverse();
    assert!(same_value(
        Some(&json!(many)),
        Some(&json!(reversed)),
        emails
    ));
    reversed[0] = json!({"value": "other@x.org"});
    assert!(!same_value(
        Some(&json!(many)),
        Some(&json!(reversed)),
        emails
    ));
}

/// A path-less value names each attribute once (RFC 7644 §3.5.2.3: its keys are attribute
/// names, which are case-insensitive, so `x` and `X` would be one attribute given twice), and
/// that check is a set lookup: 20,000 keys under a schema the server skips are checked in
/// linear time, and a repeat after them is still found.
#[test]
fn pathless_values_with_many_keys() {
    let mut keys = serde_json::Map::new();
    for i in 0..20_000 {
        keys.insert(format!("urn:example:skipped:2.0:User:k{i}"), json!("v"));
    }
    keys.insert("nickName".to_owned(), json!("Barb"));
    let patched = patch(
        &bjensen(),
        json!([{"op": "replace", "value": keys.clone()}]),
    )
    .unwrap();
    assert_eq!(patched["nickName"], "Barb");
    keys.insert("NICKNAME".to_owned(), json!("Babs"));
    assert_400(
        patch(&bjensen(), json!([{"op": "replace", "value": keys}])),
        ScimType::InvalidSyntax,
        "more than once",
    );
}
