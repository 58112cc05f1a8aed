//! Attribute projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §2.2 `returned`), on the RFC 7643
//! §8 examples.

use scim_model::error::ScimError;
use scim_model::message::{ScimType, SearchRequest};
use scim_model::project::{project, Projection};
use scim_model::schema::{SchemaRegistry, ENTERPRISE_USER, USER};
use scim_model::validate::{validate_create, ValidationOptions};
use serde_json::{json, Value};

use crate::rfc_example;
use crate::validate::{devices, DEVICE, INVENTORY};

/// RFC 7643 §8.3's user, the full user with the enterprise extension.
fn enterprise_user() -> Value {
    rfc_example("8.3-enterprise-user.json")
}

fn shown(resource: &Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    let projection = Projection::parse(attributes, excluded, users)
        .unwrap_or_else(|e| panic!("{attributes:?} / {excluded:?}: {e}"));
    project(resource, users, &projection)
}

fn parse_error(attributes: Option<&str>, excluded: Option<&str>) -> ScimError {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    match Projection::parse(attributes, excluded, users) {
        Ok(_) => panic!("{attributes:?} / {excluded:?} parsed"),
        Err(error) => error,
    }
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Some(object) = value.as_object_mut() {
        for key in keys {
            object.remove(*key);
        }
    }
    value
}

/// RFC 7643 §2.2: with neither parameter every `default` attribute is returned and the
/// `never` one (`password`, §4.1.1) is not.
#[test]
fn rfc7643_2_2_default_set_of_the_8_3_user() {
    let user = enterprise_user();
    assert_eq!(
        shown(&user, None, None),
        without(user.clone(), &["password"])
    );
    // Blank parameters count as absent.
    assert_eq!(shown(&user, Some(" "), Some("")), shown(&user, None, None));
}

/// RFC 7644 §3.4.2.5: `GET /Users?attributes=userName` answers `id` and `userName` — "'id'
/// is returned because the 'id' attribute has the 'returned' characteristic of 'always'" —
/// and `schemas`, also `always`.
#[test]
fn rfc7644_3_4_2_5_attributes_user_name() {
    let user = enterprise_user();
    assert_eq!(
        shown(&user, Some("userName"), None),
        json!({
            "schemas": user["schemas"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen@example.com",
        })
    );
}

/// RFC 7644 §3.10 / §3.4.2.5: naming a sub-attribute returns its parent with that
/// sub-attribute only; naming the parent returns all its default sub-attributes.
#[test]
fn rfc7644_3_4_2_5_sub_attributes() {
    let user = enterprise_user();
    let given = shown(&user, Some("name.givenName"), None);
    assert_eq!(given["name"], json!({"givenName": "Barbara"}));
    assert_eq!(keys(&given), ["id", "name", "schemas"]);

    let name = shown(&user, Some("name"), None);
    assert_eq!(name["name"], user["name"]);

    let emails = shown(&user, Some("emails.value"), None);
    assert_eq!(
        emails["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );

    // Naming both the parent and a sub-attribute returns the whole parent.
    let both = shown(&user, Some("name.givenName,name"), None);
    assert_eq!(both["name"], user["name"]);

    // A sub-attribute the resource does not have leaves the parent empty: it is left out.
    let missing = shown(
        &rfc_example("8.1-minimal-user.json"),
        Some("name.givenName"),
        None,
    );
    assert_eq!(keys(&missing), ["id", "schemas"]);
}

/// RFC 7644 §3.4.2.5 excludedAttributes: "names of resource attributes to be removed from the
/// default set"; it "SHALL have no effect on attributes whose schema 'returned' setting is
/// 'always'".
#[test]
fn rfc7644_3_4_2_5_excluded_attributes() {
    let user = enterprise_user();
    let no_given = shown(&user, None, Some("name.givenName"));
    let mut expected = without(user.clone(), &["password"]);
    expected["name"]
        .as_object_mut()
        .unwrap()
        .remove("givenName");
    assert_eq!(no_given, expected);

    let no_emails = shown(&user, None, Some("emails, phoneNumbers"));
    assert_eq!(
        no_emails,
        without(user.clone(), &["password", "emails", "phoneNumbers"])
    );

    let always = shown(&user, None, Some("id,schemas"));
    assert_eq!(always, without(user.clone(), &["password"]));
}

/// RFC 7643 §3.1: `meta` is returned by default and obeys the parameters like any attribute.
#[test]
fn rfc7643_3_1_meta_obeys_the_parameters() {
    let user = enterprise_user();
    assert!(shown(&user, None, Some("meta")).get("meta").is_none());
    assert_eq!(
        shown(&user, Some("meta.lastModified"), None)["meta"],
        json!({"lastModified": "2011-05-13T04:42:34Z"})
    );
    assert!(shown(&user, Some("userName"), None).get("meta").is_none());
    assert_eq!(
        shown(&user, None, Some("meta.version"))["meta"],
        without(user["meta"].clone(), &["version"])
    );
}

/// RFC 7643 §2.2 `returned: never` and §7 `writeOnly` ("SHALL NOT be returned"): `password`
/// is never returned, even when named.
#[test]
fn rfc7643_2_2_password_is_never_returned() {
    let user = enterprise_user();
    for (attributes, excluded) in [
        (None, None),
        (Some("password"), None),
        (Some("password,userName"), None),
        (Some(USER), None),
        (None, Some("userName")),
    ] {
        let result = shown(&user, attributes, excluded);
        assert!(
            result.get("password").is_none(),
            "{attributes:?} {excluded:?}"
        );
    }
    assert_eq!(
        keys(&shown(&user, Some("password"), None)),
        ["id", "schemas"]
    );
}

/// RFC 7643 §3.3: extension attributes live under their URN; a URN names the whole extension;
/// an extension left empty is dropped, while `schemas` stays as stored.
#[test]
fn rfc7643_3_3_extension_attributes() {
    let user = enterprise_user();
    let extension = shown(&user, Some(ENTERPRISE_USER), None);
    assert_eq!(keys(&extension), ["id", "schemas", ENTERPRISE_USER]);
    assert_eq!(extension[ENTERPRISE_USER], user[ENTERPRISE_USER]);

    let number = shown(&user, Some("employeeNumber"), None);
    assert_eq!(number[ENTERPRISE_USER], json!({"employeeNumber": "701984"}));
    let qualified = shown(
        &user,
        Some(&format!("{ENTERPRISE_USER}:manager.value")),
        None,
    );
    assert_eq!(
        qualified[ENTERPRISE_USER],
        json!({"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
    );

    let excluded = shown(&user, None, Some(ENTERPRISE_USER));
    assert!(excluded.get(ENTERPRISE_USER).is_none());
    assert_eq!(excluded["schemas"], json!([USER, ENTERPRISE_USER]));
    let no_manager = shown(&user, None, Some("manager"));
    assert!(no_manager[ENTERPRISE_USER].get("manager").is_none());
    assert_eq!(no_manager[ENTERPRISE_USER]["department"], "Tour Operations");

    // The core URN names the core attributes (and the common ones), not the extension.
    let core = shown(&user, Some(USER), None);
    assert!(core.get(ENTERPRISE_USER).is_none());
    assert_eq!(core["userName"], "bjensen@example.com");
    assert!(core.get("meta").is_some());
}

/// RFC 7644 §3.10: names and URNs are case-insensitive; whitespace around commas is tolerated.
#[test]
fn rfc7644_3_10_names_are_case_insensitive() {
    let user = enterprise_user();
    let result = shown(
        &user,
        Some(&format!(
            " USERNAME ,  Name.GIVENNAME, {}:EmployeeNumber ",
            ENTERPRISE_USER.to_uppercase()
        )),
        None,
    );
    assert_eq!(
        result,
        json!({
            "schemas": user["schemas"],
            "id": user["id"],
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara"},
            ENTERPRISE_USER: {"employeeNumber": "701984"},
        })
    );
}

/// RFC 7644 defines no error for an unknown attribute name: it is ignored, qualified with an
/// unknown URN or not.
#[test]
fn unknown_names_are_ignored() {
    let user = enterprise_user();
    assert_eq!(
        keys(&shown(
            &user,
            Some("shoeSize,name.shoeSize,userName.x"),
            None
        )),
        ["id", "schemas"]
    );
    assert_eq!(
        keys(&shown(
            &user,
            Some("urn:ietf:params:scim:schemas:extension:Custom:2.0:User:costCode,userName"),
            None
        )),
        ["id", "schemas", "userName"]
    );
    assert_eq!(
        shown(&user, None, Some("shoeSize")),
        without(user.clone(), &["password"])
    );
}

/// An item that is not an attribute path (RFC 7644 §3.10) is 400 `invalidValue`, naming it and
/// the parameter.
#[test]
fn malformed_items_are_invalid_value() {
    for item in [
        r#"emails[type eq "work"]"#,
        "name.givenName.x",
        "user name",
        "name.",
        ".givenName",
        "1stName",
        "name.given-Name!",
    ] {
        let error = parse_error(Some(item), None);
        assert_eq!(error.status(), 400, "{item}");
        assert_eq!(error.scim_type(), Some(ScimType::InvalidValue), "{item}");
        assert!(error.detail().contains(item), "{}", error.detail());
        assert!(
            error.detail().contains("`attributes`"),
            "{}",
            error.detail()
        );
    }
    let error = parse_error(None, Some("userName,a b"));
    assert!(
        error.detail().contains("`excludedAttributes`"),
        "{}",
        error.detail()
    );
    // Empty items, as a trailing comma leaves, are skipped.
    assert_eq!(
        keys(&shown(&enterprise_user(), Some("userName,,"), None)),
        ["id", "schemas", "userName"]
    );
}

/// RFC 7644 §3.9: the parameters are "mutually exclusive"; when both are sent `attributes`
/// applies and `excludedAttributes` is ignored.
#[test]
fn rfc7644_3_9_attributes_wins_over_excluded_attributes() {
    let user = enterprise_user();
    assert_eq!(
        shown(&user, Some("userName"), Some("userName")),
        shown(&user, Some("userName"), None)
    );
    // Not even parsed: a malformed excludedAttributes beside attributes is no error.
    assert!(shown(&user, Some("userName"), Some("a b"))
        .get("userName")
        .is_some());
}

/// RFC 7644 §3.4.3: a SearchRequest carries the same parameters as arrays.
#[test]
fn rfc7644_3_4_3_search_request_lists() {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    let request: SearchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "name.familyName"],
    }))
    .unwrap();
    let from_lists =
        Projection::from_lists(&request.attributes, &request.excluded_attributes, users).unwrap();
    let parsed = Projection::parse(Some("displayName,name.familyName"), None, users).unwrap();
    let user = enterprise_user();
    assert_eq!(
        project(&user, users, &from_lists),
        project(&user, users, &parsed)
    );
    assert_eq!(
        project(&user, users, &from_lists)["name"],
        json!({"familyName": "Jensen"})
    );
    let excluded =
        Projection::from_lists(&[], &["emails".to_owned(), "meta, title".to_owned()], users)
            .unwrap();
    let result = project(&user, users, &excluded);
    assert!(result.get("emails").is_none() && result.get("meta").is_none());
    assert!(result.get("title").is_none() && result.get("userName").is_some());
    let default = Projection::from_lists(&[], &[], users).unwrap();
    assert_eq!(
        project(&user, users, &default),
        project(&user, users, &Projection::default())
    );
}

/// RFC 7643 §2.2 `returned` on a schema with every value: `always` survives any parameter,
/// `request` needs naming, `never` and `writeOnly` never show, at both levels.
#[test]
fn rfc7643_2_2_returned_characteristic() {
    let registry = devices();
    let devices = registry
        .resource_type("Device")
        .unwrap_or_else(|| panic!("no Device resource type"));
    let device = json!({
        "schemas": [DEVICE, INVENTORY],
        "id": "d-1",
        "serial": "SN-1",
        "kind": "laptop",
        "pin": "1234",
        "secret": "hush",
        "owner": {"value": "u-1", "label": "L", "note": "N", "token": "t0k", "display": "Babs"},
        INVENTORY: {"site": "Paris", "rack": "R2"},
    });
    let show = |attributes: Option<&str>, excluded: Option<&str>| {
        let projection = Projection::parse(attributes, excluded, devices).unwrap();
        project(&device, devices, &projection)
    };
    let default = show(None, None);
    assert_eq!(
        default,
        json!({
            "schemas": [DEVICE, INVENTORY],
            "id": "d-1",
            "serial": "SN-1",
            "kind": "laptop",
            "owner": {"value": "u-1", "label": "L", "display": "Babs"},
            INVENTORY: {"site": "Paris", "rack": "R2"},
        })
    );
    // `always` survives exclusion, at the top and in a complex value.
    let excluded = show(None, Some("kind,owner.label,owner.display"));
    assert_eq!(excluded["kind"], "laptop");
    assert_eq!(excluded["owner"], json!({"value": "u-1", "label": "L"}));
    // `request` attributes show only when named.
    let requested = show(Some("pin,owner.note"), None);
    assert_eq!(
        requested,
        json!({
            "schemas": [DEVICE, INVENTORY],
            "id": "d-1",
            "kind": "laptop",
            "pin": "1234",
            "owner": {"note": "N", "label": "L"},
        })
    );
    // Naming the parent does not name its `request` sub-attributes.
    assert_eq!(
        show(Some("owner"), None)["owner"],
        json!({"value": "u-1", "label": "L", "display": "Babs"})
    );
    // Never: `secret` (never) and `owner.token` (writeOnly) even when named.
    let secret = show(Some("secret,owner.token"), None);
    assert!(secret.get("secret").is_none());
    assert_eq!(secret["owner"], json!({"label": "L"}));
    // A qualified extension attribute.
    assert_eq!(
        show(Some(&format!("{INVENTORY}:rack")), None)[INVENTORY],
        json!({"rack": "R2"})
    );
}

/// What validation stores, projection answers without the password: the two together are a
/// POST's round trip (RFC 7644 §3.3).
#[test]
fn validated_then_projected() {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User resource type"));
    let body = enterprise_user();
    let stored = validate_create(&body, users, &ValidationOptions::default())
        .unwrap()
        .into_document(|password| {
            Ok::<_, std::convert::Infallible>(format!("hash({})", password.expose_for_hashing()))
        })
        .unwrap();
    assert!(stored["password"].is_string());
    let response = project(&stored, users, &Projection::default());
    assert!(response.get("password").is_none());
    assert_eq!(response["userName"], "bjensen@example.com");
    assert_eq!(
        response[ENTERPRISE_USER]["manager"],
        json!({
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
        })
    );
}
