//! References from resources of declared types to other served resources (an agent's
//! `owners`, RFC 7643 §2.3.7): a complex attribute whose `$ref` sub-attribute has
//! `referenceTypes` naming served resource types, and whose `value` is the id of one.
//!
//! On every write the server checks that each `value` names a live resource of one of those
//! types in the organisation (a `400 invalidValue` otherwise, before anything is written) and
//! sets `$ref` itself, as RFC 7643 §4.2 has it set for a group's members: it stores the
//! reference relative to the base URL (`Users/{id}`), so a change of the public URL never
//! leaves stale links, and a read makes it absolute.
//!
//! A reference is checked when it is written, not kept up to date after: deleting a user leaves
//! the agents naming it as owner unchanged (the id then names nothing, and a read still shows
//! it). A later write that keeps such a reference is not refused for it: only the references a
//! write adds are checked, so a dangling one never blocks changes to other attributes (it goes
//! when a write removes it). A resource may not reference itself; longer cycles (an agent whose
//! parent's parent is the agent) are not looked for.

use scim_model::error::ScimError;
use scim_model::schema::{Attribute, AttributeType, ResourceTypeView};
use scim_model::value::{member, member_key};
use scim_store::resources;
use scim_store::{DbConnection, OrgId};
use serde_json::Value;

use crate::resources::Endpoint;
use crate::ApiError;

/// One attribute holding references: where it is, and the endpoints its values may name.
struct Holder<'r> {
    /// The extension schema's URN when the attribute is in one, `None` in the core schema.
    urn: Option<&'r str>,
    attribute: &'r Attribute,
    targets: Vec<&'static Endpoint>,
}

/// The attributes of `rt` whose values reference resources served at `endpoints`; with
/// `None`, those whose `referenceTypes` name any resource type (not only `external` or `uri`),
/// each with no targets.
fn holders<'r>(
    rt: ResourceTypeView<'r>,
    endpoints: Option<&[&'static Endpoint]>,
) -> Vec<Holder<'r>> {
    let core = rt.core_schema();
    rt.schemas()
        .flat_map(|schema| {
            let urn = (!std::ptr::eq(schema, core)).then(|| schema.id());
            schema
                .attributes()
                .iter()
                .map(move |attribute| (urn, attribute))
        })
        .filter_map(|(urn, attribute)| {
            let reference = attribute.sub_attribute("$ref")?;
            attribute.sub_attribute("value")?;
            if !attribute.is_complex() || reference.attribute_type() != AttributeType::Reference {
                return None;
            }
            let types = reference.reference_types();
            let Some(endpoints) = endpoints else {
                let names_types = types
                    .iter()
                    .any(|name| !matches!(name.as_str(), "external" | "uri"));
                return names_types.then_some(Holder {
                    urn,
                    attribute,
                    targets: Vec::new(),
                });
            };
            let targets: Vec<&'static Endpoint> = types
                .iter()
                .filter_map(|name| {
                    endpoints
                        .iter()
                        .find(|ep| ep.kind.name.eq_ignore_ascii_case(name))
                        .copied()
                })
                .collect();
            (!targets.is_empty()).then_some(Holder {
                urn,
                attribute,
                targets,
            })
        })
        .collect()
}

/// The values of `holder` in `document`, each a complex value (an object).
fn values_mut<'d>(document: &'d mut Value, holder: &Holder<'_>) -> Vec<&'d mut Value> {
    let Some(object) = document.as_object_mut() else {
        return Vec::new();
    };
    let container = match holder.urn {
        None => Some(object),
        Some(urn) => get_mut(object, urn).and_then(Value::as_object_mut),
    };
    let Some(found) = container.and_then(|c| get_mut(c, holder.attribute.name())) else {
        return Vec::new();
    };
    match found {
        Value::Array(items) => items.iter_mut().filter(|v| v.is_object()).collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

/// Checks every reference in `document`, a resource of `rt` about to be stored in `org`, and
/// sets each one's `$ref` to the path of what it names below the base URL. Only declared types
/// are looked at: the built-in ones keep their relations apart (members, groups).
///
/// # Errors
/// `400 invalidValue` for a value that names no live resource of the attribute's
/// `referenceTypes`; store failures.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one write, each from a different place; a struct would only rename them"
)]
pub(crate) fn resolve(
    conn: &mut DbConnection,
    ep: &Endpoint,
    endpoints: &[&'static Endpoint],
    org: OrgId,
    rt: ResourceTypeView<'_>,
    own_id: &str,
    previous: Option<&Value>,
    document: &mut Value,
) -> Result<(), ApiError> {
    if !ep.kind.is_declared() {
        return Ok(());
    }
    for holder in holders(rt, Some(endpoints)) {
        // What the resource held before, by id: kept as it was, not looked up again.
        let mut kept: Vec<(String, Value)> = Vec::new();
        if let Some(previous) = previous {
            let mut previous = previous.clone();
            for value in values_mut(&mut previous, &holder) {
                let object = value.as_object();
                let target = object
                    .and_then(|o| member(o, "value"))
                    .and_then(Value::as_str);
                let reference = object.and_then(|o| member(o, "$ref"));
                if let (Some(target), Some(reference)) = (target, reference) {
                    kept.push((target.to_owned(), reference.clone()));
                }
            }
        }
        for value in values_mut(document, &holder) {
            let Some(object) = value.as_object_mut() else {
                continue;
            };
            let Some(id) = member(object, "value")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                // A value without an id names nothing; `$ref` is the server's to set.
                drop_key(object, "$ref");
                continue;
            };
            if id == own_id {
                return Err(ScimError::invalid_value(format!(
                    "{}: a resource cannot reference itself",
                    holder.attribute.name()
                ))
                .into());
            }
            if let Some((_, reference)) = kept.iter().find(|(kept, _)| *kept == id) {
                drop_key(object, "$ref");
                object.insert("$ref".into(), reference.clone());
                continue;
            }
            let mut target = None;
            for candidate in &holder.targets {
                if resources::get(conn, candidate.kind, org, &id)?.is_some() {
                    target = Some(candidate);
                    break;
                }
            }
            let Some(target) = target else {
                let names: Vec<&str> = holder.targets.iter().map(|ep| ep.kind.name).collect();
                return Err(ScimError::invalid_value(format!(
                    "{}: no {} with id {id:?}",
                    holder.attribute.name(),
                    names.join(" or ")
                ))
                .into());
            };
            drop_key(object, "$ref");
            object.insert(
                "$ref".into(),
                Value::String(format!("{}/{id}", target.path)),
            );
        }
    }
    Ok(())
}

/// Makes the stored `$ref`s of `document` (a resource of `rt` as read) absolute under `base`.
pub(crate) fn absolute(ep: &Endpoint, rt: ResourceTypeView<'_>, base: &str, document: &mut Value) {
    if !ep.kind.is_declared() {
        return;
    }
    for holder in holders(rt, None) {
        for value in values_mut(document, &holder) {
            let Some(Value::String(reference)) = value.get_mut("$ref") else {
                continue;
            };
            if !reference.contains("://") {
                *reference = format!("{base}/{reference}");
            }
        }
    }
}

/// The member of `object` named `name`, compared case-insensitively.
fn get_mut<'v>(
    object: &'v mut serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'v mut Value> {
    let key = member_key(object, name)?.to_owned();
    object.get_mut(&key)
}

/// Removes `key` from `object`, however its case is spelled.
fn drop_key(object: &mut serde_json::Map<String, Value>, key: &str) {
    object.retain(|name, _| !name.eq_ignore_ascii_case(key));
}
