//! Group membership from HTTP requests: the `members` of a POST or PUT body and the member
//! operations of a PATCH become set changes ([`MemberChange`]) that the store applies row by
//! row, so no request ever reads or rewrites a group's whole member list to change part of it.
//!
//! What a PATCH may say about `members` (RFC 7644 §3.5.2, and every shape in the IdP notes):
//! - `add` with `path: "members"` and a list: adds those not there yet (Okta, Entra ID);
//! - `remove` with `path: "members"` and a list: removes only those listed (Entra ID's default);
//! - `remove` with `path: "members"` and no value: removes every member (§3.5.2.2);
//! - `remove` with `members[value eq "…"]` (Okta, Entra ID's newer form), or any other value
//!   filter on members (evaluated over the group's members);
//! - `replace` with `path: "members"`: the list becomes the member set (`[]` empties it);
//! - path-less `add`/`replace` whose value object holds `members` beside other attributes.
//!
//! Member ids that are not live users or groups of the organisation are skipped, not refused:
//! Okta does not retry a 4xx, so refusing a whole push for one stale id loses every other
//! change in it (`docs/patch.md`). They are never stored, so no member ever dangles.

use std::collections::HashSet;

use scim_filter::{CompValue, CompareOp, Filter, PatchPath};
use scim_model::error::ScimError;
use scim_model::filter::CompiledFilter;
use scim_model::message::{PatchOp, PatchOperation, PatchRequest};
use scim_model::schema::{ResourceTypeView, GROUP};
use scim_model::value::member;
use scim_store::members::{self, MemberType};
use scim_store::{DbConnection, OrgId};
use serde::Serialize;
use serde_json::{json, Value};

use crate::ApiError;

/// One change to a group's member set, by member id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MemberChange {
    /// Add these members (those already there stay as they are).
    Add(Vec<MemberValue>),
    /// Remove these members (those not there are ignored).
    Remove(Vec<String>),
    /// Remove the members matching this value filter (the part in `members[…]`).
    RemoveMatching(Filter),
    /// Remove every member.
    RemoveAll,
    /// Make exactly these the members.
    Replace(Vec<MemberValue>),
}

/// A member as a request gives it: its id, and the `display` the client chose, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberValue {
    pub(crate) id: String,
    pub(crate) display: Option<String>,
}

fn ids_of(values: Vec<MemberValue>) -> Vec<String> {
    values.into_iter().map(|value| value.id).collect()
}

impl MemberChange {
    fn values(&self) -> usize {
        match self {
            MemberChange::Add(values) | MemberChange::Replace(values) => values.len(),
            MemberChange::Remove(ids) => ids.len(),
            MemberChange::RemoveMatching(_) | MemberChange::RemoveAll => 0,
        }
    }
}

/// Whether `name` (as a key or path, possibly URN-qualified) names the Group's `members`.
fn names_members(urn: Option<&str>, name: &str) -> bool {
    name.eq_ignore_ascii_case("members") && urn.is_none_or(|urn| urn.eq_ignore_ascii_case(GROUP))
}

/// A key of a path-less value object that names `members`: `members` or `<Group URN>:members`.
pub(crate) fn key_names_members(key: &str) -> bool {
    match key.rsplit_once(':') {
        Some((urn, name)) => names_members(Some(urn), name),
        None => names_members(None, key),
    }
}

/// The members of a `members` value: a list of `{"value": id, …}` objects, a lone object, or
/// (leniently) bare id strings. `type`, when given, must be `User` or `Group` (the server
/// works out which the id is); `display` is kept as given (RFC 7643 §2.4: immutable); `$ref`
/// is the server's to fill and is ignored.
fn requested_members(value: &Value) -> Result<Vec<MemberValue>, ApiError> {
    let elements: &[Value] = match value {
        Value::Null => &[],
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    };
    let mut values = Vec::with_capacity(elements.len());
    for element in elements {
        let mut display = None;
        let id = match element {
            Value::String(id) => id.as_str(),
            Value::Object(object) => {
                display = match member(object, "display") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(text)) => Some(text.clone()),
                    Some(other) => {
                        return Err(ScimError::invalid_value(format!(
                            "members.display must be a string, not {other}"
                        ))
                        .into())
                    }
                };
                if let Some(kind) = member(object, "type") {
                    let known = kind
                        .as_str()
                        .is_some_and(|kind| kind.parse::<MemberType>().is_ok());
                    if !known && !kind.is_null() {
                        return Err(ScimError::invalid_value(format!(
                            "members.type must be \"User\" or \"Group\", not {kind}"
                        ))
                        .into());
                    }
                }
                match member(object, "value") {
                    Some(Value::String(id)) => id.as_str(),
                    _ => {
                        return Err(ScimError::invalid_value(
                            "every member needs a `value`: the id of a User or Group",
                        )
                        .into())
                    }
                }
            }
            Value::Null => continue,
            other => {
                return Err(ScimError::invalid_value(format!(
                    "a member must be an object with a `value`, not {other}"
                ))
                .into())
            }
        };
        if id.is_empty() {
            return Err(ScimError::invalid_value("a member's `value` must not be empty").into());
        }
        values.push(MemberValue {
            id: id.to_owned(),
            display,
        });
    }
    Ok(values)
}

fn check_limit(values: usize, max: usize) -> Result<(), ApiError> {
    if values > max {
        return Err(ScimError::invalid_value(format!(
            "the request carries {values} member values; at most {max} are accepted per request \
             (send the rest in further requests)"
        ))
        .into());
    }
    Ok(())
}

/// Takes `members` out of a validated Group document (POST, PUT): the members it lists, or
/// `None` when the document has no `members` at all.
///
/// # Errors
/// 400 `invalidValue` for a member without a `value`, or more than `max` of them.
pub(crate) fn take_members(
    document: &mut Value,
    max: usize,
) -> Result<Option<Vec<MemberValue>>, ApiError> {
    let Some(object) = document.as_object_mut() else {
        return Ok(None);
    };
    let Some(key) = object.keys().find(|key| key_names_members(key)).cloned() else {
        return Ok(None);
    };
    let value = object.remove(&key).unwrap_or(Value::Null);
    let values = requested_members(&value)?;
    check_limit(values.len(), max)?;
    Ok(Some(values))
}

/// A group PATCH split in two: the operations on the document (everything but `members`, for
/// the PATCH engine, with their positions in the client's request) and the member changes, in
/// request order.
pub(crate) struct SplitPatch {
    /// The operations for the engine.
    pub(crate) document: PatchRequest,
    /// `document.operations[i]` was operation `numbers[i]` (1-based) of the request.
    pub(crate) numbers: Vec<usize>,
    /// The member changes.
    pub(crate) members: Vec<MemberChange>,
}

/// Splits a Group PATCH into the operations on the document and the member changes.
///
/// # Errors
/// 400 `invalidValue` for malformed member values, an `add` without a value (§3.5.2.1), or more
/// than `max` member values in all; 400 `mutability` for a change to a member's
/// sub-attributes; 400 `invalidPath` for a filtered `add` or `replace` of members.
pub(crate) fn split_patch(request: PatchRequest, max: usize) -> Result<SplitPatch, ApiError> {
    let mut document_ops = Vec::with_capacity(request.operations.len());
    let mut numbers = Vec::with_capacity(request.operations.len());
    let mut changes = Vec::new();
    for (index, operation) in request.operations.into_iter().enumerate() {
        let context = |error: ApiError| match error {
            ApiError::Scim(e) => ApiError::Scim(ScimError::new(
                e.status(),
                e.scim_type(),
                format!("operation {}: {}", index + 1, e.detail()),
            )),
            other => other,
        };
        let PatchOperation { op, path, value } = operation;
        match path {
            None => {
                let Some(Value::Object(mut object)) = value else {
                    numbers.push(index + 1);
                    document_ops.push(PatchOperation { op, path, value });
                    continue;
                };
                let keys: Vec<String> = object
                    .keys()
                    .filter(|key| key_names_members(key))
                    .cloned()
                    .collect();
                for key in keys {
                    let ids = object
                        .remove(&key)
                        .map(|value| requested_members(&value))
                        .transpose()
                        .map_err(context)?
                        .unwrap_or_default();
                    changes.push(match op {
                        PatchOp::Replace => MemberChange::Replace(ids),
                        // A path-less remove is refused by the engine (noTarget) below.
                        PatchOp::Add | PatchOp::Remove => MemberChange::Add(ids),
                    });
                }
                if !object.is_empty() || op == PatchOp::Remove {
                    numbers.push(index + 1);
                    document_ops.push(PatchOperation {
                        op,
                        path: None,
                        value: Some(Value::Object(object)),
                    });
                }
            }
            Some(text) => {
                // A path that does not parse goes to the engine, which says why.
                let members_path = scim_filter::parse_path(&text).ok().filter(|parsed| {
                    let attr = parsed.attr();
                    names_members(attr.urn.as_deref(), &attr.name)
                });
                match members_path {
                    Some(parsed) => {
                        changes.push(member_change(op, parsed, value).map_err(context)?);
                    }
                    None => {
                        numbers.push(index + 1);
                        document_ops.push(PatchOperation {
                            op,
                            path: Some(text),
                            value,
                        });
                    }
                }
            }
        }
    }
    let values: usize = changes.iter().map(MemberChange::values).sum();
    check_limit(values, max)?;
    Ok(SplitPatch {
        document: PatchRequest {
            schemas: request.schemas,
            operations: document_ops,
        },
        numbers,
        members: changes,
    })
}

/// The change one operation on a `members` path makes.
fn member_change(
    op: PatchOp,
    path: PatchPath,
    value: Option<Value>,
) -> Result<MemberChange, ApiError> {
    match path {
        PatchPath::Attr(attr) if attr.sub_attr.is_some() => Err(ScimError::mutability(
            "the sub-attributes of members cannot be changed; add or remove whole members",
        )
        .into()),
        PatchPath::Attr(_) => match (op, value) {
            (PatchOp::Add, None) => Err(ScimError::invalid_value(
                "an add operation must carry a value (RFC 7644 §3.5.2.1)",
            )
            .into()),
            (PatchOp::Add, Some(value)) => Ok(MemberChange::Add(requested_members(&value)?)),
            (PatchOp::Replace, value) => Ok(MemberChange::Replace(
                value
                    .as_ref()
                    .map(requested_members)
                    .transpose()?
                    .unwrap_or_default(),
            )),
            (PatchOp::Remove, None) => Ok(MemberChange::RemoveAll),
            (PatchOp::Remove, Some(value)) => {
                Ok(MemberChange::Remove(ids_of(requested_members(&value)?)))
            }
        },
        PatchPath::Filtered {
            sub_attr: Some(_), ..
        } => Err(ScimError::mutability(
            "the sub-attributes of members cannot be changed; add or remove whole members",
        )
        .into()),
        PatchPath::Filtered { filter, .. } => match op {
            PatchOp::Remove => Ok(match ids_in(&filter) {
                Some(ids) => MemberChange::Remove(ids),
                None => MemberChange::RemoveMatching(filter),
            }),
            PatchOp::Add | PatchOp::Replace => Err(ScimError::invalid_path(
                "members can be added or replaced only with `path: \"members\"` and a list of \
                 members; a filter selects members to remove",
            )
            .into()),
        },
    }
}

/// The ids a value filter names when it is `value eq "id"` or an `or` of those (what IdPs
/// send), so the removal needs no read of the member list.
fn ids_in(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.name.eq_ignore_ascii_case("value")
            && path.sub_attr.is_none()
            && path.urn.is_none() =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(items) => items.iter().try_fold(Vec::new(), |mut ids, item| {
            ids.extend(ids_in(item)?);
            Some(ids)
        }),
        _ => None,
    }
}

/// Applies `changes` in order to the group `group_id` of `org`, inside the caller's transaction
/// (which holds the group's row lock). Returns whether the member set changed.
///
/// # Errors
/// [`scim_store::StoreError::MembershipCycle`] for a nested group that would contain the group;
/// 400 `invalidFilter` for a member filter the Group schema rejects; store failures.
pub(crate) fn apply(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    changes: Vec<MemberChange>,
    group_type: ResourceTypeView<'_>,
    token: &str,
) -> Result<bool, ApiError> {
    let token = Some(token);
    let mut changed = false;
    for change in changes {
        changed |= match change {
            MemberChange::Add(values) => add(conn, org, group_id, values, token)? > 0,
            MemberChange::Remove(ids) => members::remove(conn, org, group_id, &ids, token)? > 0,
            MemberChange::RemoveAll => members::clear(conn, org, group_id, token)? > 0,
            MemberChange::Replace(values) => {
                // Only the members that are not in the new list leave: the events then say
                // who lost and who gained access, and the others keep their `display`.
                let staying: HashSet<&str> = values.iter().map(|v| v.id.as_str()).collect();
                let leaving: Vec<String> = members::of(conn, org, group_id)?
                    .into_iter()
                    .map(|member| member.value)
                    .filter(|id| !staying.contains(id.as_str()))
                    .collect();
                let removed = members::remove(conn, org, group_id, &leaving, token)?;
                let added = add(conn, org, group_id, values, token)?;
                removed > 0 || added > 0
            }
            MemberChange::RemoveMatching(filter) => {
                let wrapped = Filter::ValuePath {
                    attr: scim_filter::AttrPath::new("members"),
                    filter: Box::new(filter),
                };
                let compiled = CompiledFilter::compile(&wrapped, group_type)?;
                let ids: Vec<String> = members::list(conn, org, &[group_id.to_owned()])?
                    .into_iter()
                    .map(|(_, member)| member)
                    .filter(|member| {
                        compiled.matches_value(&json!({
                            "value": member.value,
                            "type": member.member_type.as_str(),
                            "display": member.display,
                        }))
                    })
                    .map(|member| member.value)
                    .collect();
                members::remove(conn, org, group_id, &ids, token)? > 0
            }
        };
    }
    Ok(changed)
}

/// Adds the live users and groups among `values`; unknown ids are skipped (see the module
/// docs). The first of several values with one id wins.
fn add(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    values: Vec<MemberValue>,
    token: Option<&str>,
) -> Result<usize, ApiError> {
    let mut seen = HashSet::with_capacity(values.len());
    let values: Vec<MemberValue> = values
        .into_iter()
        .filter(|value| seen.insert(value.id.clone()))
        .collect();
    let ids: Vec<String> = values.iter().map(|value| value.id.clone()).collect();
    let resolved = members::resolve(conn, org, &ids)?;
    let mut known = Vec::with_capacity(resolved.len());
    let mut skipped = 0_usize;
    for value in values {
        match resolved.get(&value.id) {
            Some(member_type) => known.push(members::NewMember {
                id: value.id,
                member_type: *member_type,
                display: value.display,
            }),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::info!(
            group = group_id,
            skipped,
            "member ids that are no live user or group of the organisation were skipped"
        );
    }
    Ok(members::add(conn, org, group_id, &known, token)?)
}

/// One member as a response shows it, with the sub-attributes a projection keeps.
#[derive(Serialize)]
struct MemberOut<'a> {
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
}

impl<'a> MemberOut<'a> {
    fn of(member: &'a members::Member, fields: &SubFields, base_url: &str) -> Self {
        let endpoint = match member.member_type {
            MemberType::User => "Users",
            MemberType::Group => "Groups",
        };
        MemberOut {
            reference: fields
                .reference
                .then(|| format!("{base_url}/{endpoint}/{}", member.value)),
            display: (fields.display && !member.display.is_empty())
                .then_some(member.display.as_str()),
            kind: fields.kind.then_some(member.member_type.as_str()),
            value: fields.value.then_some(member.value.as_str()),
        }
    }
}

/// The `members` value of a response: one object per member, with the sub-attributes
/// `fields` selects, `$ref` pointing at the member under `base_url`.
pub(crate) fn member_values(
    members: &[members::Member],
    fields: &SubFields,
    base_url: &str,
) -> Vec<Value> {
    members
        .iter()
        .filter_map(|member| serde_json::to_value(MemberOut::of(member, fields, base_url)).ok())
        .collect()
}

/// Appends `"members": [...]` to `object`, the serialised JSON object of a group, writing each
/// member straight into the bytes: a group of 100,000 members is never held as JSON values.
/// Returns false (leaving `object` as it was) when `object` is not a serialised object.
pub(crate) fn append_members(
    object: &mut Vec<u8>,
    members: &[members::Member],
    fields: &SubFields,
    base_url: &str,
) -> bool {
    if object.last() != Some(&b'}') {
        return false;
    }
    let original = object.len();
    object.pop();
    if object.len() > 1 {
        object.push(b',');
    }
    object.extend_from_slice(b"\"members\":[");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            object.push(b',');
        }
        if serde_json::to_writer(&mut *object, &MemberOut::of(member, fields, base_url)).is_err() {
            object.truncate(original - 1);
            object.push(b'}');
            return false;
        }
    }
    object.extend_from_slice(b"]}");
    true
}

/// Which sub-attributes of a relation (`members`, `groups`) a projection keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SubFields {
    pub(crate) value: bool,
    pub(crate) display: bool,
    pub(crate) kind: bool,
    pub(crate) reference: bool,
}

impl SubFields {
    /// What survives of a probe value with every sub-attribute, after projection.
    pub(crate) fn of(projected: &Value) -> Self {
        let has = |name: &str| projected.get(name).is_some();
        SubFields {
            value: has("value"),
            display: has("display"),
            kind: has("type"),
            reference: has("$ref"),
        }
    }
}
