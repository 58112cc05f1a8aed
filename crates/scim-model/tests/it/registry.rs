//! Registering schemas and resource types, custom extensions included.

use scim_model::schema::{
    enterprise_user_schema, group_resource_type, group_schema, user_resource_type, user_schema,
    Attribute, AttributeOrigin, AttributeType, RegistryError, ResourceType, Schema, SchemaRegistry,
    Uniqueness, ENTERPRISE_USER, USER,
};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

fn acme_extension() -> Schema {
    Schema::new(
        ACME,
        "AcmeUser",
        "Acme's user attributes",
        vec![
            Attribute::new("badgeNumber", AttributeType::Integer)
                .with_description("The number printed on the badge.")
                .with_uniqueness(Uniqueness::Server),
            // Shadowed by the core attribute when referenced without the URN.
            Attribute::new("userName", AttributeType::String).with_case_exact(true),
        ],
    )
}

/// A registry with the built-in schemas and a User type carrying two extensions.
fn custom_registry() -> SchemaRegistry {
    let mut registry = SchemaRegistry::new();
    for schema in [
        user_schema(),
        group_schema(),
        enterprise_user_schema(),
        acme_extension(),
    ] {
        if let Err(e) = registry.register_schema(schema) {
            panic!("registers: {e}");
        }
    }
    for resource_type in [
        user_resource_type().with_extension(ACME, true),
        group_resource_type(),
    ] {
        if let Err(e) = registry.register_resource_type(resource_type) {
            panic!("registers: {e}");
        }
    }
    registry
}

/// RFC 7643 §3.3: a custom extension schema is just another schema.
#[test]
fn custom_extension_schemas_resolve() {
    let registry = custom_registry();
    let users = registry.resource_type("User").expect("User");
    let badge = users
        .resolve(None, "badgenumber", None)
        .expect("badgeNumber");
    assert_eq!(badge.extension_urn(), Some(ACME));
    assert_eq!(badge.target().uniqueness(), Uniqueness::Server);

    // Unqualified: core first. Qualified: the extension's own attribute.
    let core = users.resolve(None, "userName", None).expect("userName");
    assert!(matches!(core.origin(), AttributeOrigin::Core(s) if s.id() == USER));
    let acme = users
        .resolve(Some(ACME), "userName", None)
        .expect("acme userName");
    assert_eq!(acme.extension_urn(), Some(ACME));
    assert!(acme.target().is_case_exact());

    let extensions: Vec<(&str, bool)> = users
        .extensions()
        .map(|e| (e.schema.id(), e.required))
        .collect();
    assert_eq!(extensions, [(ENTERPRISE_USER, false), (ACME, true)]);
    assert_eq!(registry.schemas().len(), 4);
}

#[test]
fn duplicate_schemas_are_refused_whatever_the_case() {
    let mut registry = SchemaRegistry::standard();
    let shouting = Schema::new(
        USER.to_ascii_uppercase(),
        "User",
        "again",
        vec![Attribute::new("x", AttributeType::String)],
    );
    assert_eq!(
        registry.register_schema(shouting),
        Err(RegistryError::DuplicateSchema(USER.to_ascii_uppercase()))
    );
    assert_eq!(registry.schemas().len(), 3);
}

#[test]
fn duplicate_resource_types_and_endpoints_are_refused() {
    let mut registry = SchemaRegistry::standard();
    assert_eq!(
        registry.register_resource_type(ResourceType::new("user", "/People", "again", USER)),
        Err(RegistryError::DuplicateResourceType("user".into()))
    );
    assert_eq!(
        registry.register_resource_type(ResourceType::new("Person", "/Users", "again", USER)),
        Err(RegistryError::DuplicateEndpoint("/Users".into()))
    );
    assert_eq!(registry.resource_types().len(), 2);
}

#[test]
fn resource_types_must_name_registered_schemas_once() {
    let mut registry = SchemaRegistry::standard();
    assert_eq!(
        registry.register_resource_type(ResourceType::new(
            "Device",
            "/Devices",
            "A device",
            "urn:example:Device"
        )),
        Err(RegistryError::UnregisteredSchema {
            resource_type: "Device".into(),
            schema: "urn:example:Device".into(),
        })
    );
    let twice = ResourceType::new("Person", "/People", "A person", USER)
        .with_extension(ENTERPRISE_USER, false)
        .with_extension(ENTERPRISE_USER.to_ascii_lowercase(), false);
    assert!(matches!(
        registry.register_resource_type(twice),
        Err(RegistryError::InvalidResourceType { .. })
    ));
    let core_as_extension =
        ResourceType::new("Person", "/People", "A person", USER).with_extension(USER, false);
    assert!(matches!(
        registry.register_resource_type(core_as_extension),
        Err(RegistryError::InvalidResourceType { .. })
    ));
    // A second resource type may share schemas with the first.
    registry
        .register_resource_type(
            ResourceType::new("Person", "/People", "A person", USER)
                .with_extension(ENTERPRISE_USER, true),
        )
        .expect("Person");
    assert_eq!(registry.resource_types().len(), 3);
}

fn invalid(attributes: Vec<Attribute>) -> String {
    let mut registry = SchemaRegistry::new();
    match registry.register_schema(Schema::new("urn:example:bad", "Bad", "bad", attributes)) {
        Err(RegistryError::InvalidSchema { schema, reason }) => {
            assert_eq!(schema, "urn:example:bad");
            reason
        }
        other => panic!("expected an invalid schema, got {other:?}"),
    }
}

/// RFC 7643 §2.1 names, §2.3.8 no nested complex attributes, no name declared twice.
#[test]
fn invalid_schemas_are_refused() {
    let string = |name: &str| Attribute::new(name, AttributeType::String);
    let complex = |name: &str, subs: Vec<Attribute>| {
        Attribute::new(name, AttributeType::Complex).with_sub_attributes(subs)
    };

    assert_eq!(
        invalid(vec![string("shoe size")]),
        "`shoe size` is not a valid attribute name (RFC 7643 §2.1)"
    );
    assert_eq!(
        invalid(vec![string("badge"), string("BADGE")]),
        "attribute `BADGE` is declared twice"
    );
    assert_eq!(
        invalid(vec![complex(
            "address",
            vec![string("city"), string("City")]
        )]),
        "attribute `address.City` is declared twice"
    );
    assert_eq!(
        invalid(vec![complex("address", vec![])]),
        "complex attribute `address` has no sub-attributes"
    );
    assert_eq!(
        invalid(vec![string("badge").with_sub_attributes(vec![string("x")])]),
        "attribute `badge` of type string has sub-attributes; only complex attributes may"
    );
    assert!(invalid(vec![complex(
        "outer",
        vec![complex("inner", vec![string("x")])]
    )])
    .contains("cannot nest"));
    let mut registry = SchemaRegistry::new();
    assert!(matches!(
        registry.register_schema(Schema::new(" ", "Empty", "", vec![])),
        Err(RegistryError::InvalidSchema { .. })
    ));
}

/// Errors read as lowercase sentences without a trailing period.
#[test]
fn registry_errors_display() {
    let error = RegistryError::UnregisteredSchema {
        resource_type: "Device".into(),
        schema: "urn:example:Device".into(),
    };
    assert_eq!(
        error.to_string(),
        "resource type `Device` names schema `urn:example:Device`, which is not registered"
    );
}
