//! Attribute lookups (RFC 7644 §3.10: attribute names and URNs are case-insensitive).

use scim_model::schema::{
    AttributeOrigin, AttributeType, LookupError, Mutability, Returned, SchemaRegistry,
    ENTERPRISE_USER, GROUP, USER,
};

fn registry() -> SchemaRegistry {
    SchemaRegistry::standard()
}

/// RFC 7644 §3.10: names in any case resolve to the canonical spelling.
#[test]
fn names_are_case_insensitive() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    for spelling in ["userName", "username", "USERNAME", "UsErNaMe"] {
        let resolved = users.resolve(None, spelling, None).expect(spelling);
        assert_eq!(resolved.name(), "userName");
        assert!(matches!(resolved.origin(), AttributeOrigin::Core(s) if s.id() == USER));
        assert_eq!(resolved.to_string(), "userName");
    }
    let given = users
        .resolve(None, "NAME", Some("GIVENNAME"))
        .expect("name.givenName");
    assert_eq!(given.name(), "name");
    assert_eq!(given.sub_name(), Some("givenName"));
    assert_eq!(given.to_string(), "name.givenName");
    assert_eq!(given.target().attribute_type(), AttributeType::String);
    // Resource type names too.
    assert_eq!(
        registry.resource_type("gROUP").map(|view| view.name()),
        Some("Group")
    );
}

/// RFC 7644 §3.10: a reference may carry its schema URN, in any case.
#[test]
fn urn_qualified_references() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let core = users
        .resolve(Some(&USER.to_ascii_uppercase()), "emails", Some("value"))
        .expect("core-qualified");
    assert_eq!(core.extension_urn(), None);
    assert_eq!(core.to_string(), "emails.value");

    let manager = users
        .resolve(
            Some("urn:ietf:params:scim:schemas:extension:Enterprise:2.0:user"),
            "manager",
            Some("value"),
        )
        .expect("manager.value");
    assert_eq!(manager.extension_urn(), Some(ENTERPRISE_USER));
    assert_eq!(manager.schema().map(|s| s.id()), Some(ENTERPRISE_USER));
    assert_eq!(
        manager.to_string(),
        format!("{ENTERPRISE_USER}:manager.value")
    );
    assert!(manager.target().is_case_exact());

    // The common attributes belong with the core schema, not with an extension.
    let id = users
        .resolve(Some(USER), "id", None)
        .expect("core URN + id");
    assert!(id.is_common());
    assert!(matches!(
        users.resolve(Some(ENTERPRISE_USER), "id", None),
        Err(LookupError::UnknownAttribute { .. })
    ));
}

/// An extension attribute resolves without its URN, after the core schema.
#[test]
fn unqualified_extension_attribute() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let number = users
        .resolve(None, "EMPLOYEENUMBER", None)
        .expect("employeeNumber");
    assert!(matches!(number.origin(), AttributeOrigin::Extension(s) if s.id() == ENTERPRISE_USER));
    assert_eq!(number.extension_urn(), Some(ENTERPRISE_USER));
    assert_eq!(number.name(), "employeeNumber");
    let display = users
        .resolve(None, "manager", Some("displayname"))
        .expect("manager.displayName");
    assert_eq!(display.target().mutability(), Mutability::ReadOnly);
    // `displayName` exists in the core User schema and as a sub-attribute of the enterprise
    // manager: unqualified, the core one wins.
    let core_display = users
        .resolve(None, "displayName", None)
        .expect("displayName");
    assert_eq!(core_display.extension_urn(), None);
}

/// RFC 7643 §3 and §3.1: `schemas`, `id`, `externalId` and `meta` resolve for every resource
/// type (RFC 7644 §3.4.2.2 filters on `schemas` and `meta.lastModified`).
#[test]
fn common_attributes_resolve_everywhere() {
    let registry = registry();
    for resource_type in ["User", "Group"] {
        let view = registry.resource_type(resource_type).expect("type");
        let id = view.resolve(None, "ID", None).expect("id");
        assert!(id.is_common());
        assert_eq!(id.schema(), None);
        assert_eq!(id.target().returned(), Returned::Always);
        let modified = view
            .resolve(None, "meta", Some("LASTMODIFIED"))
            .expect("meta.lastModified");
        assert_eq!(modified.to_string(), "meta.lastModified");
        assert_eq!(modified.target().attribute_type(), AttributeType::DateTime);
        assert!(view.resolve(None, "externalid", None).is_ok());
        let schemas = view.resolve(None, "Schemas", None).expect("schemas");
        assert!(schemas.is_common());
        assert!(schemas.target().is_multi_valued());
    }
}

/// Unknown names are errors that say what was not found.
#[test]
fn unknown_attributes() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    assert_eq!(
        users.resolve(None, "shoeSize", None),
        Err(LookupError::UnknownAttribute {
            resource_type: "User".into(),
            attribute: "shoeSize".into(),
        })
    );
    // A Group attribute is not a User attribute.
    assert!(matches!(
        users.resolve(None, "members", None),
        Err(LookupError::UnknownAttribute { .. })
    ));
    // A schema the resource type does not have.
    assert_eq!(
        users.resolve(Some(GROUP), "displayName", None),
        Err(LookupError::UnknownSchema {
            resource_type: "User".into(),
            schema: GROUP.into(),
        })
    );
    assert_eq!(
        registry.resolve("Device", None, "id", None),
        Err(LookupError::UnknownResourceType("Device".into()))
    );
    let error = users.resolve(None, "shoeSize", None).expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown attribute `shoeSize` for resource type `User`"
    );
}

/// Sub-attributes: unknown ones, and sub-attributes of simple attributes.
#[test]
fn sub_attributes() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    assert_eq!(
        users.resolve(None, "emails", Some("domain")),
        Err(LookupError::UnknownSubAttribute {
            attribute: "emails".into(),
            sub_attribute: "domain".into(),
        })
    );
    assert_eq!(
        users.resolve(None, "username", Some("value")),
        Err(LookupError::NotComplex {
            attribute: "userName".into(),
            sub_attribute: "value".into(),
        })
    );
    let emails = users.resolve(None, "emails", None).expect("emails");
    assert!(emails.attribute().is_multi_valued());
    assert_eq!(emails.target().name(), "emails");
    let primary = emails
        .attribute()
        .sub_attribute("PRIMARY")
        .expect("primary");
    assert_eq!(primary.attribute_type(), AttributeType::Boolean);
    assert!(emails.attribute().sub_attribute("nope").is_none());
}

/// RFC 7643 §4.2: `members.$ref` and the immutable member sub-attributes.
#[test]
fn members_ref() {
    let registry = registry();
    let groups = registry.resource_type("Group").expect("Group");
    for spelling in ["$ref", "$REF", "$Ref"] {
        let reference = groups
            .resolve(None, "Members", Some(spelling))
            .expect("members.$ref");
        assert_eq!(reference.to_string(), "members.$ref");
        let target = reference.target();
        assert_eq!(target.attribute_type(), AttributeType::Reference);
        assert_eq!(target.reference_types(), ["User", "Group"]);
        assert_eq!(target.mutability(), Mutability::Immutable);
    }
    let value = groups
        .resolve(None, "members", Some("value"))
        .expect("members.value");
    assert_eq!(value.target().mutability(), Mutability::Immutable);
    assert_eq!(
        groups
            .resolve(None, "members", Some("type"))
            .expect("members.type")
            .target()
            .canonical_values(),
        ["User", "Group"]
    );
}

/// RFC 7643 §4.1: `password` is writeOnly and never returned; `groups` is readOnly.
#[test]
fn user_characteristics_that_drive_writes_and_responses() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let password = users.resolve(None, "password", None).expect("password");
    assert_eq!(password.target().mutability(), Mutability::WriteOnly);
    assert_eq!(password.target().returned(), Returned::Never);
    let groups = users.resolve(None, "groups", None).expect("groups");
    assert_eq!(groups.target().mutability(), Mutability::ReadOnly);
    for sub in ["value", "$ref", "display", "type"] {
        let resolved = users.resolve(None, "groups", Some(sub)).expect(sub);
        assert_eq!(
            resolved.target().mutability(),
            Mutability::ReadOnly,
            "{sub}"
        );
    }
}

/// Schema lists and schema lookups of a resource type.
#[test]
fn schemas_of_a_resource_type() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let ids: Vec<&str> = users.schemas().map(|s| s.id()).collect();
    assert_eq!(ids, [USER, ENTERPRISE_USER]);
    assert_eq!(users.core_schema().id(), USER);
    let extensions: Vec<(&str, bool)> = users
        .extensions()
        .map(|e| (e.schema.id(), e.required))
        .collect();
    assert_eq!(extensions, [(ENTERPRISE_USER, false)]);
    assert!(users.is_known_schema(&ENTERPRISE_USER.to_ascii_lowercase()));
    assert!(users.is_known_schema(USER));
    assert!(!users.is_known_schema(GROUP));
    assert!(users.extension(USER).is_none());
    let groups = registry.resource_type("Group").expect("Group");
    assert_eq!(groups.schemas().count(), 1);
    assert!(!groups.is_known_schema(ENTERPRISE_USER));

    assert_eq!(
        registry.schema(&GROUP.to_ascii_uppercase()).map(|s| s.id()),
        Some(GROUP)
    );
    assert!(registry.schema("urn:example:nothing").is_none());
    assert_eq!(
        registry
            .resource_type_for_endpoint("/Users")
            .map(|v| v.name()),
        Some("User")
    );
    assert_eq!(
        registry
            .resource_type_for_endpoint("Groups")
            .map(|v| v.name()),
        Some("Group")
    );
    assert!(registry.resource_type_for_endpoint("/Devices").is_none());
}

/// Splitting a URN off a path (`attributes=`, PATCH paths), longest URN first.
#[test]
fn split_schema_prefix() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value";
    let (schema, rest) = users.split_schema_prefix(path);
    assert_eq!(schema.map(|s| s.id()), Some(ENTERPRISE_USER));
    assert_eq!(rest, "manager.value");

    let lowercase = USER.to_ascii_lowercase();
    let (schema, rest) = users.split_schema_prefix(&lowercase);
    assert_eq!(schema.map(|s| s.id()), Some(USER));
    assert_eq!(rest, "");

    let (schema, rest) = users.split_schema_prefix("name.givenName");
    assert!(schema.is_none());
    assert_eq!(rest, "name.givenName");

    // A URN followed by something other than a colon is no prefix.
    let (schema, rest) = users.split_schema_prefix("urn:ietf:params:scim:schemas:core:2.0:Users");
    assert!(schema.is_none());
    assert_eq!(rest, "urn:ietf:params:scim:schemas:core:2.0:Users");

    // Multi-byte text around the URN length does not panic.
    let (schema, _) = users.split_schema_prefix("ééééééééééééééééééééééééééééééééééééééééééé:x");
    assert!(schema.is_none());
}

/// A parser splitting at the last colon reads a bare extension URN as URN + name.
#[test]
fn schema_path_recognises_a_bare_urn() {
    let registry = registry();
    let users = registry.resource_type("User").expect("User");
    let schema = users.schema_path(
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
        "user",
    );
    assert_eq!(schema.map(|s| s.id()), Some(ENTERPRISE_USER));
    assert!(users
        .schema_path(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
            "Group"
        )
        .is_none());
    assert!(users
        .schema_path(Some("urn:ietf:params:scim:schemas:core:2.0"), "Group")
        .is_none());
    assert!(users.schema_path(None, "userName").is_none());
}
