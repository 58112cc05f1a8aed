//! The search document: the form of a resource that a store filters and sorts on.
//!
//! A database cannot apply SCIM's rules (case-insensitivity per attribute, Unicode case
//! folding, chronological dateTimes, unassigned values) the same way on every backend, so the
//! store keeps beside each resource a derived document where those rules are already applied:
//! - only attributes of the resource type's schemas, under their canonical names, with
//!   extension attributes under the extension's canonical URN, and never one whose `returned`
//!   is `never` (`password`);
//! - only assigned values ([`is_assigned`]): no nulls, empty strings, empty arrays, or values
//!   of the wrong type;
//! - strings of attributes that are not `caseExact` folded with [`fold_case`];
//! - dateTimes rewritten by [`sortable_date_time`], so that text order is time order.
//!
//! Plain equality, containment and ordering of text in SQL then give the answers of
//! [`CompiledFilter::matches`](crate::filter::CompiledFilter::matches) on the original.

use serde_json::{Map, Value};

use crate::schema::{Attribute, AttributeType, ResourceTypeView, Returned};
use crate::value::{
    fold_case, is_assigned, member, parse_date_time, sortable_date_time, values_of,
};

/// Builds the search document of `resource` (see the module docs).
///
/// ```
/// use scim_model::{schema::SchemaRegistry, search::search_document};
///
/// let registry = SchemaRegistry::standard();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// let user = serde_json::json!({
///     "USERNAME": "BJensen",
///     "externalId": "Ext-1",
///     "title": "",
///     "emails": [{"value": "BJ@Example.com", "type": "Work"}, {}],
///     "meta": {"lastModified": "2011-05-13T06:42:34+02:00"},
/// });
/// assert_eq!(
///     search_document(&user, users),
///     serde_json::json!({
///         "userName": "bjensen",
///         "externalId": "Ext-1",
///         "emails": [{"value": "bj@example.com", "type": "work"}],
///         "meta": {"lastModified": "2011-05-13T04:42:34.000000Z"},
///     }),
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn search_document(resource: &Value, resource_type: ResourceTypeView<'_>) -> Value {
    let mut document = Map::new();
    let Some(object) = resource.as_object() else {
        return Value::Object(document);
    };
    let top_level = resource_type
        .core_schema()
        .attributes()
        .iter()
        .chain(resource_type.common_attributes());
    copy_attributes(object, top_level, &mut document);
    for extension in resource_type.extensions() {
        let schema = extension.schema;
        let Some(Value::Object(members)) = member(object, schema.id()) else {
            continue;
        };
        let mut extension_document = Map::new();
        copy_attributes(members, schema.attributes().iter(), &mut extension_document);
        if !extension_document.is_empty() {
            document.insert(schema.id().to_owned(), Value::Object(extension_document));
        }
    }
    Value::Object(document)
}

fn copy_attributes<'a>(
    from: &Map<String, Value>,
    attributes: impl Iterator<Item = &'a Attribute>,
    into: &mut Map<String, Value>,
) {
    for attribute in attributes {
        // Never-returned values (`password`) must not be searchable: a filter could test them.
        if attribute.returned() == Returned::Never {
            continue;
        }
        if let Some(value) = member(from, attribute.name()).and_then(|v| normalize(v, attribute)) {
            into.insert(attribute.name().to_owned(), value);
        }
    }
}

fn normalize(value: &Value, attribute: &Attribute) -> Option<Value> {
    let mut assigned = values_of(value, attribute)
        .filter(|v| is_assigned(v, attribute))
        .map(|v| normalize_one(v, attribute));
    if attribute.is_multi_valued() {
        let items: Vec<Value> = assigned.collect();
        (!items.is_empty()).then_some(Value::Array(items))
    } else {
        assigned.next()
    }
}

fn normalize_one(value: &Value, attribute: &Attribute) -> Value {
    match (attribute.attribute_type(), value) {
        (AttributeType::Complex, Value::Object(members)) => {
            let mut object = Map::new();
            copy_attributes(members, attribute.sub_attributes().iter(), &mut object);
            Value::Object(object)
        }
        (AttributeType::DateTime, Value::String(s)) => match parse_date_time(s) {
            Some(at) => Value::String(sortable_date_time(&at)),
            None => value.clone(),
        },
        (
            AttributeType::String | AttributeType::Reference | AttributeType::Binary,
            Value::String(s),
        ) if !attribute.is_case_exact() => Value::String(fold_case(s).into_owned()),
        _ => value.clone(),
    }
}
