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
use std::collections::HashMap;

use scim_model::value::{member, member_mut, remove_member};
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
        Some(urn) => member_mut(object, urn).and_then(Value::as_object_mut),
    };
    let Some(found) = container.and_then(|c| member_mut(c, holder.attribute.name())) else {
        return Vec::new();
    };
    match found {
        Value::Array(items) => items.iter_mut().filter(|v| v.is_object()).collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

/// The `value` and `$ref` of each value of `holder` in `document` that has both.
fn stored_references(document: &Value, holder: &Holder<'_>) -> HashMap<String, Value> {
    let object = document.as_object();
    let container = match holder.urn {
        None => object,
        Some(urn) => object
            .and_then(|o| member(o, urn))
            .and_then(Value::as_object),
    };
    let values = match container.and_then(|c| member(c, holder.attribute.name())) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    };
    values
        .into_iter()
        .filter_map(Value::as_object)
        .filter_map(|value| {
            let id = member(value, "value").and_then(Value::as_str)?;
            Some((id.to_owned(), member(value, "$ref")?.clone()))
        })
        .collect()
}

/// Checks every reference in `document`, a resource of `rt` about to be stored in `org` as
/// `own_id`, and sets each one's `$ref` to the path of what it names below the base URL. The
/// references `previous` (the stored resource) already held keep their `$ref` and are not
/// looked up again; the others are looked up a few statements per attribute and target type,
/// however many there are. Only declared types are looked at: the built-in ones keep their
/// relations apart (members, groups).
///
/// # Errors
/// `400 invalidValue` for a value that names the resource itself or no live resource of the
/// attribute's `referenceTypes`; store failures.
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
        let mut known = previous
            .map(|previous| stored_references(previous, &holder))
            .unwrap_or_default();
        let mut values = values_mut(document, &holder);
        let ids: Vec<Option<String>> = values
            .iter()
            .map(|value| {
                let object = value.as_object()?;
                member(object, "value")?.as_str().map(str::to_owned)
            })
            .collect();
        let name = holder.attribute.name();
        if ids.iter().flatten().any(|id| id == own_id) {
            return Err(ScimError::invalid_value(format!(
                "{name}: a resource cannot reference itself"
            ))
            .into());
        }
        // Each id not held before, looked up in each target type in turn.
        let mut unknown: Vec<&str> = ids
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|id| !known.contains_key(*id))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for target in &holder.targets {
            if unknown.is_empty() {
                break;
            }
            let found = resources::live_ids(conn, target.kind, org, &unknown)?;
            unknown.retain(|id| {
                let hit = found.contains(*id);
                if hit {
                    known.insert(
                        (*id).to_owned(),
                        Value::String(format!("{}/{id}", target.path)),
                    );
                }
                !hit
            });
        }
        if let Some(id) = unknown.first() {
            let names: Vec<&str> = holder.targets.iter().map(|ep| ep.kind.name).collect();
            return Err(ScimError::invalid_value(format!(
                "{name}: no {} with id {id:?}",
                names.join(" or ")
            ))
            .into());
        }
        for (value, id) in values.iter_mut().zip(&ids) {
            let Some(object) = value.as_object_mut() else {
                continue;
            };
            // `$ref` is the server's to set; a value without an id names nothing.
            remove_member(object, "$ref");
            if let Some(reference) = id.as_ref().and_then(|id| known.get(id)) {
                object.insert("$ref".into(), reference.clone());
            }
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
