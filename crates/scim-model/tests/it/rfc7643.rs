//! Every JSON example of RFC 7643 §8, through the types of this crate.

use scim_model::message::ServiceProviderConfig;
use scim_model::schema::{
    AttributeOrigin, AttributeType, ResourceType, ResourceTypeView, Schema, SchemaRegistry,
    ENTERPRISE_USER,
};
use serde_json::Value;

use crate::{assert_round_trip, rfc_example};

/// RFC 7643 §8.5: the service provider configuration.
#[test]
fn section_8_5_service_provider_config_round_trips() {
    let config: ServiceProviderConfig =
        assert_round_trip(&rfc_example("8.5-service-provider-config.json"));
    assert!(config.bulk.supported);
    assert_eq!(config.bulk.max_operations, 1000);
    assert_eq!(config.bulk.max_payload_size, 1_048_576);
    assert_eq!(config.filter.max_results, 200);
    assert_eq!(config.authentication_schemes.len(), 2);
    assert_eq!(
        config.authentication_schemes[0].scheme_type,
        "oauthbearertoken"
    );
    assert_eq!(config.authentication_schemes[0].primary, Some(true));
    assert_eq!(config.authentication_schemes[1].primary, None);
    assert_eq!(config.interop_profile_conformant, None);
    let meta = config.meta.expect("meta");
    assert_eq!(meta.version.as_deref(), Some("W/\"3694e05e9dff594\""));
}

/// RFC 7643 §8.6: the User and Group resource types.
#[test]
fn section_8_6_resource_types_round_trip() {
    let types: Vec<ResourceType> = assert_round_trip(&rfc_example("8.6-resource-types.json"));
    assert_eq!(types.len(), 2);
    assert_eq!(types[0].endpoint, "/Users");
    assert_eq!(types[0].schema_extensions[0].schema, ENTERPRISE_USER);
    assert!(types[0].schema_extensions[0].required);
    assert!(types[1].schema_extensions.is_empty());
}

/// RFC 7643 §8.7.1: the User, Group and Enterprise User schemas.
#[test]
fn section_8_7_1_resource_schemas_round_trip() {
    let schemas: Vec<Schema> = assert_round_trip(&rfc_example("8.7.1-resource-schemas.json"));
    let ids: Vec<&str> = schemas.iter().map(Schema::id).collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            ENTERPRISE_USER,
        ]
    );
    let user = &schemas[0];
    assert_eq!(user.attributes().len(), 21);
    // Characteristics left out of the JSON read as the §2.2 defaults.
    let active = user.attribute("active").expect("active");
    assert_eq!(active.attribute_type(), AttributeType::Boolean);
    assert!(!active.is_case_exact());
    let roles_type = user
        .attribute("roles")
        .and_then(|roles| roles.sub_attribute("type"))
        .expect("roles.type");
    assert!(roles_type.canonical_values().is_empty());
}

/// RFC 7643 §8.7.2: the ServiceProviderConfig, ResourceType and Schema schemas.
#[test]
fn section_8_7_2_service_provider_schemas_round_trip() {
    let schemas: Vec<Schema> =
        assert_round_trip(&rfc_example("8.7.2-service-provider-schemas.json"));
    assert_eq!(schemas.len(), 3);
    let attributes = schemas[2].attribute("attributes").expect("attributes");
    let sub_attributes = attributes
        .sub_attribute("subAttributes")
        .expect("subAttributes");
    // §8.7.2 nests a complex attribute in another; the type carries it without loss.
    assert_eq!(sub_attributes.sub_attributes().len(), 11);
}

/// Resolves every member of a resource's JSON, at any depth, against its resource type, and
/// checks each value has the shape its attribute declares. Returns the canonical references.
fn resolve_resource(registry: &SchemaRegistry, resource: &Value) -> Vec<String> {
    let Some(resource_type) = resource["meta"]["resourceType"].as_str() else {
        panic!("no meta.resourceType");
    };
    let Some(view) = registry.resource_type(resource_type) else {
        panic!("unknown resource type {resource_type}");
    };
    let Some(members) = resource.as_object() else {
        panic!("not an object");
    };
    let mut seen = Vec::new();
    for (key, value) in members {
        if key == "schemas" {
            for urn in value.as_array().into_iter().flatten() {
                assert!(
                    view.is_known_schema(urn.as_str().unwrap_or_default()),
                    "{urn}"
                );
            }
        }
        if let Some(extension) = view.extension(key) {
            let Some(members) = value.as_object() else {
                panic!("{key} is not an object");
            };
            for (name, value) in members {
                resolve_member(&view, Some(extension.schema.id()), name, value, &mut seen);
            }
            continue;
        }
        resolve_member(&view, None, key, value, &mut seen);
    }
    seen
}

fn resolve_member(
    view: &ResourceTypeView<'_>,
    urn: Option<&str>,
    name: &str,
    value: &Value,
    seen: &mut Vec<String>,
) {
    let resolved = view
        .resolve(urn, name, None)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if urn.is_some() {
        assert!(
            matches!(resolved.origin(), AttributeOrigin::Extension(_)),
            "{name}"
        );
    }
    let attribute = resolved.attribute();
    let values: Vec<&Value> = match value {
        Value::Array(items) => {
            assert!(attribute.is_multi_valued(), "{name} is not multi-valued");
            items.iter().collect()
        }
        single => {
            assert!(!attribute.is_multi_valued(), "{name} is multi-valued");
            vec![single]
        }
    };
    seen.push(resolved.to_string());
    for value in values {
        assert_shape(attribute.attribute_type(), value, name);
        if let Value::Object(members) = value {
            for (sub, sub_value) in members {
                let resolved = view
                    .resolve(urn, name, Some(sub))
                    .unwrap_or_else(|e| panic!("{name}.{sub}: {e}"));
                let target = resolved.target();
                assert!(!target.is_multi_valued(), "{name}.{sub}");
                assert_shape(target.attribute_type(), sub_value, sub);
                let reference = resolved.to_string();
                if !seen.contains(&reference) {
                    seen.push(reference);
                }
            }
        }
    }
}

fn assert_shape(attribute_type: AttributeType, value: &Value, name: &str) {
    let fits = match attribute_type {
        AttributeType::Boolean => value.is_boolean(),
        AttributeType::Complex => value.is_object(),
        AttributeType::Integer => value.is_i64() || value.is_u64(),
        AttributeType::Decimal => value.is_number(),
        AttributeType::String
        | AttributeType::DateTime
        | AttributeType::Binary
        | AttributeType::Reference => value.is_string(),
    };
    assert!(fits, "{name}: {value} is not a {attribute_type}");
}

/// RFC 7643 §8.1: the minimal user.
#[test]
fn section_8_1_minimal_user_resolves() {
    let mut seen = resolve_resource(
        &SchemaRegistry::standard(),
        &rfc_example("8.1-minimal-user.json"),
    );
    // Map order depends on serde_json features; compare as a set.
    seen.sort();
    assert_eq!(
        seen,
        [
            "id",
            "meta",
            "meta.created",
            "meta.lastModified",
            "meta.location",
            "meta.resourceType",
            "meta.version",
            "schemas",
            "userName",
        ]
    );
}

/// RFC 7643 §8.2: the full user; every attribute it uses is in the registry.
#[test]
fn section_8_2_full_user_resolves() {
    let seen = resolve_resource(
        &SchemaRegistry::standard(),
        &rfc_example("8.2-full-user.json"),
    );
    for reference in [
        "externalId",
        "name.honorificSuffix",
        "addresses.primary",
        "photos.value",
        "groups.$ref",
        "x509Certificates.value",
        "password",
    ] {
        assert!(seen.iter().any(|s| s == reference), "{reference}");
    }
}

/// RFC 7643 §8.3: the enterprise user; the extension's members live under its URN key.
#[test]
fn section_8_3_enterprise_user_resolves() {
    let seen = resolve_resource(
        &SchemaRegistry::standard(),
        &rfc_example("8.3-enterprise-user.json"),
    );
    for name in [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
        "manager.value",
        "manager.$ref",
        "manager.displayName",
    ] {
        let reference = format!("{ENTERPRISE_USER}:{name}");
        assert!(seen.contains(&reference), "{reference}");
    }
}

/// RFC 7643 §8.4: the group.
#[test]
fn section_8_4_group_resolves() {
    let seen = resolve_resource(&SchemaRegistry::standard(), &rfc_example("8.4-group.json"));
    for reference in [
        "displayName",
        "members",
        "members.value",
        "members.$ref",
        "members.display",
    ] {
        assert!(seen.iter().any(|s| s == reference), "{reference}");
    }
}
