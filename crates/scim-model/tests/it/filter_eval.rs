//! Filter evaluation over resources (RFC 7644 §3.4.2.2), against the RFC 7643 §8 examples.

use scim_model::filter::CompiledFilter;
use scim_model::message::ScimType;
use scim_model::schema::SchemaRegistry;
use serde_json::{json, Value};

use crate::rfc_example;

fn matches(filter: &str, resource: &Value) -> bool {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User type"));
    let parsed = scim_filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let compiled =
        CompiledFilter::compile(&parsed, users).unwrap_or_else(|e| panic!("{filter}: {e}"));
    compiled.matches(resource)
}

fn compile_error(filter: &str) -> String {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User type"));
    let parsed = scim_filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let Err(err) = CompiledFilter::compile(&parsed, users) else {
        panic!("{filter} compiled")
    };
    assert_eq!(err.status(), 400, "{filter}");
    assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter), "{filter}");
    err.detail().to_owned()
}

fn full_user() -> Value {
    let mut user = rfc_example("8.2-full-user.json");
    user["meta"]["lastModified"] = json!("2011-05-13T04:42:34Z");
    user
}

/// RFC 7644 §3.4.2.2: each example filter of the section, evaluated on RFC 7643 §8.2's user.
#[test]
fn rfc7644_3_4_2_2_examples_on_the_rfc7643_8_2_user() {
    let user = full_user();
    let cases = [
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"userName eq "BJENSEN@EXAMPLE.COM""#, true),
        (r#"name.familyName co "ense""#, true),
        (r#"name.familyName co "O'Malley""#, false),
        (r#"userName sw "BJ""#, true),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#,
            true,
        ),
        ("title pr", true),
        ("nickName pr", true),
        ("locale pr", true),
        (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34.001Z""#, true),
        (r#"meta.lastModified le "2011-05-13T04:42:33Z""#, false),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"title pr and userType eq "Intern""#, false),
        (r#"title pr or userType eq "Intern""#, true),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
            true,
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            false,
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            true,
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            true,
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            false,
        ),
        (r#"emails[type eq "home" and value co "@jensen.org"]"#, true),
    ];
    for (filter, expected) in cases {
        assert_eq!(matches(filter, &user), expected, "{filter}");
    }
}

/// RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a multi-valued
/// attribute, the filter matches if any of the values of the specified attribute match".
#[test]
fn rfc7644_3_4_2_2_multi_valued_any() {
    let user = full_user();
    assert!(matches(r#"emails.value eq "babs@jensen.org""#, &user));
    assert!(matches(r#"phoneNumbers.type eq "mobile""#, &user));
    // A value filter ties the conditions to one value; the dotted form does not.
    assert!(matches(
        r#"emails.type eq "home" and emails.value co "example.com""#,
        &user
    ));
    assert!(!matches(
        r#"emails[type eq "home" and value co "example.com"]"#,
        &user
    ));
    // The Entra ID form.
    assert!(matches(
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        &user
    ));
    assert!(!matches(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#,
        &user
    ));
}

/// `ne` is the negation of `eq`; `eq null` is absence (the module documents the choice).
#[test]
fn negation_and_null() {
    let user = json!({"userName": "a", "emails": [{"value": "x@y"}, {"value": "z@y"}]});
    assert!(!matches(r#"emails.value ne "x@y""#, &user));
    assert!(matches(r#"emails.value ne "q@y""#, &user));
    assert!(
        matches(r#"title ne "boss""#, &user),
        "absent attribute is not equal"
    );
    assert!(matches("title eq null", &user));
    assert!(!matches("userName eq null", &user));
    assert!(matches("userName ne null", &user));
    assert!(matches(r#"not (title eq "x")"#, &user));
}

/// RFC 7644 §3.4.2.2 "pr": "If the attribute has a non-empty value, or if it contains a
/// non-empty node for complex attributes, there is a match."
#[test]
fn rfc7644_3_4_2_2_present() {
    let user = json!({
        "userName": "a",
        "title": "",
        "nickName": null,
        "emails": [],
        "name": {"givenName": null},
        "phoneNumbers": [{"value": ""}, {"value": "1"}],
        "addresses": [{}],
    });
    for (filter, expected) in [
        ("userName pr", true),
        ("title pr", false),
        ("nickName pr", false),
        ("displayName pr", false),
        ("emails pr", false),
        ("name pr", false),
        ("name.givenName pr", false),
        ("phoneNumbers pr", true),
        ("phoneNumbers.value pr", true),
        ("addresses pr", false),
    ] {
        assert_eq!(matches(filter, &user), expected, "{filter}");
    }
}

/// RFC 7643 §2.2 caseExact and RFC 7644 §3.4.2.2: string comparison respects caseExact;
/// attribute names are case-insensitive.
#[test]
fn case_exactness() {
    let user =
        json!({"id": "AbC", "userName": "Zoë", "externalId": "Ext-1", "DisplayName": "Ünïcode"});
    assert!(
        matches(r#"USERNAME EQ "ZOË""#, &user),
        "userName is caseExact false, Unicode folding"
    );
    assert!(
        matches(r#"displayname sw "üNÏ""#, &user),
        "keys of the resource are case-insensitive too"
    );
    assert!(matches(r#"externalId eq "Ext-1""#, &user));
    assert!(
        !matches(r#"externalId eq "ext-1""#, &user),
        "externalId is caseExact"
    );
    assert!(matches(r#"id eq "AbC""#, &user));
    assert!(!matches(r#"id eq "abc""#, &user), "id is caseExact");
    // `%`, `_` and `\` are ordinary characters.
    let odd = json!({"userName": "50%_off\\deal"});
    assert!(matches(r#"userName co "%_o""#, &odd));
    assert!(matches(r#"userName ew "\\deal""#, &odd));
    assert!(!matches(r#"userName co "5_%""#, &odd));
}

/// RFC 7644 §3.4.2.2: "gt"/"ge"/"lt"/"le" on strings compare lexicographically; booleans and
/// complex attributes cannot be ordered.
#[test]
fn ordering_and_types() {
    let user = json!({"userName": "m", "active": true, "x509Certificates": [{"value": "AAAA"}]});
    assert!(matches(r#"userName gt "L""#, &user));
    assert!(matches(r#"userName lt "N""#, &user));
    assert!(!matches(r#"userName gt "m""#, &user));
    assert!(matches(r#"userName ge "M""#, &user));
    assert!(matches("active eq true", &user));
    assert!(!matches("active eq false", &user));
    assert!(matches("active ne false", &user));
    assert!(
        matches(r#"x509Certificates.value eq "AAAA""#, &user),
        "binary is caseExact"
    );
    assert!(!matches(r#"x509Certificates.value eq "aaaa""#, &user));
}

#[test]
fn enterprise_extension_attributes() {
    let user = rfc_example("8.3-enterprise-user.json");
    assert!(matches(r#"employeeNumber eq "701984""#, &user));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &user
    ));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        &user
    ));
    assert!(matches(r#"manager.displayName co "john""#, &user));
    assert!(!matches(r#"costCenter eq "4131""#, &user));
    assert!(matches(r#"costCenter eq "4130""#, &user));
}

/// RFC 7644 §3.4.2.2: unknown attributes and meaningless comparisons are `invalidFilter`.
#[test]
fn rfc7644_3_4_2_2_invalid_filters() {
    for (filter, fragment) in [
        (r#"shoeSize eq "42""#, "shoeSize"),
        (r#"name.middle eq "x""#, "middle"),
        (r#"userName.first eq "x""#, "userName"),
        (
            r#"urn:example:unknown:1.0:User:x eq "x""#,
            "urn:example:unknown",
        ),
        ("active gt true", "boolean"),
        (r#"active co "t""#, "boolean"),
        (r#"active eq "true""#, "boolean"),
        (r#"emails gt "a""#, "complex"),
        (r#"name eq "Barbara""#, "complex"),
        (r#"userName gt 3"#, "string"),
        (r#"meta.lastModified gt "yesterday""#, "xsd:dateTime"),
        (r#"meta.created co "2011""#, "dateTime"),
        (r#"userName co null"#, "null"),
        (r#"userName[value eq "x"]"#, "complex"),
        (r#"emails[display.x eq "x"]"#, "sub-attributes"),
        (r#"emails[shoe eq "x"]"#, "shoe"),
        (r#"password eq "t1meMa$heen""#, "never returned"),
        ("password pr", "never returned"),
    ] {
        let detail = compile_error(filter);
        assert!(detail.contains(fragment), "{filter}: {detail}");
    }
}

/// RFC 7643 §2.5: null, empty and unassigned are the same state; no comparison sees them.
#[test]
fn rfc7643_2_5_unassigned_values_never_match() {
    let user = json!({"userName": "a", "title": "", "emails": [{}, null, {"type": "work"}]});
    assert!(!matches(r#"title eq """#, &user));
    assert!(matches(r#"title ne "x""#, &user));
    assert!(!matches(
        r#"emails[not (type eq "home")] and emails[not (type pr)]"#,
        &user
    ));
    assert!(matches(r#"emails[not (type eq "home")]"#, &user));
}

/// `CompiledFilter::matches_value` tests one value of the attribute of a value filter, and
/// answers as `matches` does for a resource holding that value alone.
#[test]
fn value_filters_match_single_values() {
    let registry = SchemaRegistry::standard();
    let users = registry
        .resource_type("User")
        .unwrap_or_else(|| panic!("no User type"));
    let compile = |filter: &str| {
        let parsed = scim_filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        CompiledFilter::compile(&parsed, users).unwrap_or_else(|e| panic!("{filter}: {e}"))
    };
    let user = full_user();
    let filters = [
        (r#"emails[type eq "work"]"#, "emails"),
        (
            r#"emails[type eq "WORK" and value co "@example.com"]"#,
            "emails",
        ),
        (r#"emails[not (primary eq true)]"#, "emails"),
        (r#"emails[display pr or type eq "home"]"#, "emails"),
        (
            r#"addresses[postalCode sw "91" and country eq "USA"]"#,
            "addresses",
        ),
        (r#"phoneNumbers[value ew "4321"]"#, "phoneNumbers"),
    ];
    for (filter, attribute) in filters {
        let compiled = compile(filter);
        let elements = user[attribute]
            .as_array()
            .unwrap_or_else(|| panic!("no {attribute}"));
        for element in elements
            .iter()
            .chain(&[json!({}), json!(null), json!({"type": ""})])
        {
            let alone = json!({ attribute: [element] });
            assert_eq!(
                compiled.matches_value(element),
                compiled.matches(&alone),
                "{filter} on {element}"
            );
        }
    }

    let work = compile(r#"emails[type eq "work"]"#);
    assert!(work.matches_value(&json!({"type": "Work", "value": "b@example.com"})));
    assert!(!work.matches_value(&json!({"type": "home", "value": "b@example.com"})));
    assert!(!work.matches_value(&json!({"value": "b@example.com"})));
    // An unassigned value matches nothing, not even a negation.
    let not_work = compile(r#"emails[not (type eq "work")]"#);
    assert!(not_work.matches_value(&json!({"type": "home"})));
    assert!(!not_work.matches_value(&json!({})));
    assert!(!not_work.matches_value(&json!(null)));
    // A filter that is not a value filter names the resource's attributes, not a value's.
    assert!(!compile(r#"emails.type eq "work""#).matches_value(&json!({"type": "work"})));
    assert!(!compile(r#"userName eq "b""#).matches_value(&json!({"userName": "b"})));
}
