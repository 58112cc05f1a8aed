//! The built-in schemas against RFC 7643 §8.7.1, and their served JSON.

use std::collections::BTreeSet;

use scim_model::schema::{
    common_attributes, enterprise_user_schema, group_resource_type, group_schema,
    user_resource_type, user_schema, Attribute, Schema, SchemaRegistry, ENTERPRISE_USER, GROUP,
    SCHEMA, USER,
};
use serde_json::{json, Value};

use crate::rfc_example;

/// One line per characteristic, with the §2.2 default for what the JSON leaves out.
fn characteristics(path: &str, attribute: &Attribute) -> Vec<String> {
    vec![
        format!("{path} type {}", attribute.attribute_type()),
        format!("{path} multiValued {}", attribute.is_multi_valued()),
        format!("{path} required {}", attribute.is_required()),
        format!("{path} caseExact {}", attribute.is_case_exact()),
        format!("{path} mutability {}", attribute.mutability()),
        format!("{path} returned {}", attribute.returned()),
        format!("{path} uniqueness {}", attribute.uniqueness()),
        format!("{path} canonicalValues {:?}", attribute.canonical_values()),
        format!("{path} referenceTypes {:?}", attribute.reference_types()),
    ]
}

fn describe(schema: &Schema) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for attribute in schema.attributes() {
        let path = format!("{}:{}", schema.name().unwrap_or_default(), attribute.name());
        lines.insert(format!("{path} defined"));
        lines.extend(characteristics(&path, attribute));
        for sub in attribute.sub_attributes() {
            let path = format!("{path}.{}", sub.name());
            lines.insert(format!("{path} defined"));
            lines.extend(characteristics(&path, sub));
        }
    }
    lines
}

/// RFC 7643 §8.7.1 against the built-in schemas: the same attributes with the same names,
/// types, plurality, requiredness, caseExact, mutability, returned, uniqueness, canonical
/// values and reference types, except where §8.7.1 contradicts the normative text (see the
/// `schema::builtin` module docs). The exceptions are listed here one by one, so any other
/// difference fails.
#[test]
fn builtins_match_section_8_7_1_except_the_errata() {
    let rfc: Vec<Schema> =
        serde_json::from_value(rfc_example("8.7.1-resource-schemas.json")).expect("§8.7.1");
    let ours = [user_schema(), group_schema(), enterprise_user_schema()];
    let mut only_rfc = BTreeSet::new();
    let mut only_ours = BTreeSet::new();
    for (theirs, ours) in rfc.iter().zip(&ours) {
        assert_eq!(theirs.id(), ours.id());
        assert_eq!(theirs.name(), ours.name());
        assert_eq!(theirs.description(), ours.description());
        let (theirs, ours) = (describe(theirs), describe(ours));
        only_rfc.extend(theirs.difference(&ours).cloned());
        only_ours.extend(ours.difference(&theirs).cloned());
    }
    let set = |lines: &[&str]| {
        lines
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        only_rfc,
        set(&[
            // §4.2, erratum 5368: displayName is REQUIRED.
            "Group:displayName required false",
            // §3.1: ids are caseExact, so are the values that hold one (erratum 8472).
            "Group:members.value caseExact false",
            "User:groups.value caseExact false",
            "EnterpriseUser:manager.value caseExact false",
            // §4.1.2: groups.$ref is the URI of a Group.
            "User:groups.$ref referenceTypes [\"User\", \"Group\"]",
            // §2.3.6: a binary is case exact.
            "User:x509Certificates.value caseExact false",
        ])
    );
    let mut expected_ours = set(&[
        "Group:displayName required true",
        "Group:members.value caseExact true",
        "User:groups.value caseExact true",
        "EnterpriseUser:manager.value caseExact true",
        "User:groups.$ref referenceTypes [\"Group\"]",
        "User:x509Certificates.value caseExact true",
    ]);
    // §2.4, §4.1.2 and §8.2: addresses have `primary`; §2.4, §4.2 and §8.4: members have
    // `display`. §8.7.1 leaves both out.
    let added = [
        (
            "User:addresses.primary",
            "boolean",
            "default",
            "readWrite",
            false,
        ),
        (
            "Group:members.display",
            "string",
            "default",
            "immutable",
            false,
        ),
    ];
    for (path, kind, returned, mutability, case_exact) in added {
        expected_ours.insert(format!("{path} defined"));
        expected_ours.insert(format!("{path} type {kind}"));
        expected_ours.insert(format!("{path} multiValued false"));
        expected_ours.insert(format!("{path} required false"));
        expected_ours.insert(format!("{path} caseExact {case_exact}"));
        expected_ours.insert(format!("{path} mutability {mutability}"));
        expected_ours.insert(format!("{path} returned {returned}"));
        expected_ours.insert(format!("{path} uniqueness none"));
        expected_ours.insert(format!("{path} canonicalValues []"));
        expected_ours.insert(format!("{path} referenceTypes []"));
    }
    assert_eq!(only_ours, expected_ours);
}

/// RFC 7643 §7: the served JSON uses the representation's camelCase keys and type names, and
/// §8.7.1: the common attributes are not part of it.
#[test]
fn builtin_schemas_serialise_as_the_section_7_representation() {
    let user = serde_json::to_value(user_schema()).expect("serialises");
    assert_eq!(user["schemas"], json!([SCHEMA]));
    assert_eq!(user["id"], USER);
    let attributes = user["attributes"].as_array().expect("attributes");
    let names: Vec<&str> = attributes
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    for common in ["schemas", "id", "externalId", "meta"] {
        assert!(!names.contains(&common), "{common} is served in the schema");
    }
    let emails = attributes
        .iter()
        .find(|a| a["name"] == "emails")
        .expect("emails");
    assert_eq!(emails["multiValued"], true);
    assert_eq!(emails["type"], "complex");
    let email_type = &emails["subAttributes"][2];
    assert_eq!(email_type["name"], "type");
    assert_eq!(email_type["caseExact"], false);
    assert_eq!(
        email_type["canonicalValues"],
        json!(["work", "home", "other"])
    );
    let profile_url = attributes
        .iter()
        .find(|a| a["name"] == "profileUrl")
        .expect("profileUrl");
    assert_eq!(profile_url["referenceTypes"], json!(["external"]));
    let password = attributes
        .iter()
        .find(|a| a["name"] == "password")
        .expect("password");
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");

    let meta = common_attributes()
        .into_iter()
        .find(|a| a.name() == "meta")
        .expect("meta");
    let created =
        serde_json::to_value(meta.sub_attribute("created").expect("created")).expect("serialises");
    assert_eq!(created["type"], "dateTime");
}

/// A built-in schema read back from its own JSON is the same schema.
#[test]
fn builtin_schemas_round_trip_through_json() {
    for schema in [user_schema(), group_schema(), enterprise_user_schema()] {
        let json = serde_json::to_value(&schema).expect("serialises");
        let back: Schema = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, schema);
    }
}

/// RFC 7643 §5 interop profile §5.4: the `type` sub-attributes declare their canonical values.
#[test]
fn type_sub_attributes_declare_canonical_values() {
    let user = user_schema();
    let canonical = |attribute: &str| -> Vec<String> {
        user.attribute(attribute)
            .and_then(|a| a.sub_attribute("type"))
            .map(|t| t.canonical_values().to_vec())
            .unwrap_or_default()
    };
    assert_eq!(canonical("emails"), ["work", "home", "other"]);
    assert_eq!(
        canonical("phoneNumbers"),
        ["work", "home", "mobile", "fax", "pager", "other"]
    );
    assert_eq!(
        canonical("ims"),
        ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
    );
    assert_eq!(canonical("addresses"), ["work", "home", "other"]);
    assert_eq!(canonical("photos"), ["photo", "thumbnail"]);
    let members_type = group_schema()
        .attribute("members")
        .and_then(|m| m.sub_attribute("type"))
        .map(|t| t.canonical_values().to_vec())
        .unwrap_or_default();
    assert_eq!(members_type, ["User", "Group"]);
}

/// RFC 7643 §3 and §3.1: the attributes of every resource.
#[test]
fn common_attributes_follow_section_3_1() {
    use scim_model::schema::{AttributeType, Mutability, Returned, Uniqueness};
    let common = common_attributes();
    let names: Vec<&str> = common.iter().map(Attribute::name).collect();
    assert_eq!(names, ["schemas", "id", "externalId", "meta"]);
    let schemas = &common[0];
    assert!(schemas.is_multi_valued());
    assert!(schemas.is_required());
    assert_eq!(schemas.returned(), Returned::Always);
    assert!(!schemas.is_case_exact());
    let id = &common[1];
    assert!(id.is_case_exact());
    assert!(!id.is_required());
    assert_eq!(id.mutability(), Mutability::ReadOnly);
    assert_eq!(id.returned(), Returned::Always);
    assert_eq!(id.uniqueness(), Uniqueness::Server);
    let external_id = &common[2];
    assert!(external_id.is_case_exact());
    assert_eq!(external_id.mutability(), Mutability::ReadWrite);
    assert_eq!(external_id.returned(), Returned::Default);
    let meta = &common[3];
    assert_eq!(meta.mutability(), Mutability::ReadOnly);
    let subs: Vec<(&str, AttributeType)> = meta
        .sub_attributes()
        .iter()
        .map(|s| (s.name(), s.attribute_type()))
        .collect();
    assert_eq!(
        subs,
        [
            ("resourceType", AttributeType::String),
            ("created", AttributeType::DateTime),
            ("lastModified", AttributeType::DateTime),
            ("location", AttributeType::Reference),
            ("version", AttributeType::String),
        ]
    );
    assert!(meta
        .sub_attributes()
        .iter()
        .all(|s| s.mutability() == Mutability::ReadOnly));
}

/// RFC 7643 §6 and §8.6: the built-in resource types; the enterprise extension is optional
/// here, where the §8.6 example makes it required.
#[test]
fn builtin_resource_types() {
    let user = serde_json::to_value(user_resource_type()).expect("serialises");
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
        })
    );
    let group = serde_json::to_value(group_resource_type()).expect("serialises");
    assert_eq!(
        group,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP,
        })
    );
    let registry = SchemaRegistry::standard();
    let served: Vec<Value> = registry
        .resource_types()
        .map(|view| serde_json::to_value(view.definition()).expect("serialises"))
        .collect();
    assert_eq!(served, [user, group]);
    let schema_ids: Vec<&str> = registry.schemas().iter().map(Schema::id).collect();
    assert_eq!(schema_ids, [USER, GROUP, ENTERPRISE_USER]);
}

/// RFC 7643 §8.7.1: the built-in descriptions are the RFC's, except `manager.value` and
/// `manager.$ref`, which §4.3 makes RECOMMENDED where §8.7.1 says REQUIRED.
#[test]
fn builtin_descriptions_are_the_rfc_ones() {
    let rfc: Vec<Schema> =
        serde_json::from_value(rfc_example("8.7.1-resource-schemas.json")).expect("§8.7.1");
    let ours = [user_schema(), group_schema(), enterprise_user_schema()];
    let mut differing = Vec::new();
    for (theirs, ours) in rfc.iter().zip(&ours) {
        for attribute in theirs.attributes() {
            let mine = ours.attribute(attribute.name()).expect("same attributes");
            if mine.description() != attribute.description() {
                differing.push(attribute.name().to_owned());
            }
            for sub in attribute.sub_attributes() {
                let my_sub = mine.sub_attribute(sub.name()).expect("same sub-attributes");
                if my_sub.description() != sub.description() {
                    differing.push(format!("{}.{}", attribute.name(), sub.name()));
                }
            }
        }
    }
    assert_eq!(differing, ["manager.value", "manager.$ref"]);
}
