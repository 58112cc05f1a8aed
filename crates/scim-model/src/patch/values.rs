//! Values of a PATCH checked against their attribute, compared the SCIM way, and tidied for
//! storage.

use serde_json::Value;

use super::PatchOptions;
use crate::error::ScimError;
use crate::schema::{Attribute, AttributeType, Mutability, ResourceTypeView};
use crate::validate::{CanonicalValues, UnknownAttributes, ValidationOptions, ValueChecker};
use crate::value::{fold_case, is_assigned, member, same_value, values_of, ValueKey};

/// Checks PATCH values by the rules validation applies to POST and PUT bodies
/// ([`ValueChecker`], read as PATCH values: nulls, `readOnly` and partial complex values are
/// kept for merging, and [`tidy`] drops what is left empty), and brings them to the stored shape.
#[derive(Debug, Clone, Copy)]
pub(super) struct Checker<'r> {
    rules: ValueChecker<'r>,
}

impl<'r> Checker<'r> {
    /// The checker for PATCH `options` on a resource of `resource_type`.
    pub(super) fn new(options: &PatchOptions, resource_type: ResourceTypeView<'r>) -> Self {
        let validation = ValidationOptions {
            coerce_boolean_strings: options.coerce_boolean_strings,
            // What PATCH has always accepted: a lone value for a multi-valued attribute, a bare
            // value for a singular complex one, and values outside `canonicalValues`.
            wrap_single_values: true,
            bare_value_for_complex: true,
            canonical_values: CanonicalValues::Allow,
            // Not consulted for PATCH values: an unknown sub-attribute is `invalidPath`.
            unknown_attributes: UnknownAttributes::Reject,
            // PATCH bodies carry no `schemas` of the resource.
            reject_unknown_schemas: false,
            limits: options.limits,
        };
        Checker {
            rules: ValueChecker::for_patch(validation, resource_type),
        }
    }

    /// A whole value of `attribute`: an array for a multi-valued attribute (`[]` when the value
    /// lists none, so that `add` adds nothing), one value for a singular one (see
    /// [`Checker::element`]); `Value::Null` when unassigned. `path` names the attribute in
    /// errors.
    pub(super) fn attribute(
        &self,
        value: &Value,
        attribute: &Attribute,
        path: &str,
    ) -> Result<Value, ScimError> {
        if !attribute.is_multi_valued() {
            return self.element(value, attribute, path);
        }
        let checked = self.rules.check_value(attribute, path, value)?;
        Ok(checked.unwrap_or_else(|| match value {
            Value::Null => Value::Null,
            _ => Value::Array(Vec::new()),
        }))
    }

    /// One value of `attribute` (one element, for a multi-valued attribute); `Value::Null` when
    /// unassigned. Unlike POST and PUT, a one-element array given for a complex value is read
    /// as its element, as Entra ID sends `manager` as `[{"$ref": …, "value": …}]`.
    pub(super) fn element(
        &self,
        value: &Value,
        attribute: &Attribute,
        path: &str,
    ) -> Result<Value, ScimError> {
        let value = match value {
            Value::Array(items) if attribute.is_complex() => match items.as_slice() {
                [only] => only,
                _ => value,
            },
            other => other,
        };
        let checked = self.rules.check_element(attribute, path, value)?;
        Ok(checked.unwrap_or(Value::Null))
    }
}

/// Whether `value` holds an assigned value of `attribute` (RFC 7643 §2.5: null, empty and
/// missing are alike).
pub(super) fn assigned(value: Option<&Value>, attribute: &Attribute) -> bool {
    value.is_some_and(|value| values_of(value, attribute).any(|v| is_assigned(v, attribute)))
}

/// The identity of one element of a multi-valued attribute for `add` (an element equal to one
/// already there is not added again) and `remove` with a value (the listed elements go):
/// complex elements that both carry a `value` sub-attribute compare by it (RFC 7643 §2.4 makes
/// `value` the element's identity, e.g. a member's id), other elements as wholes
/// ([`ValueKey`], the one value equality). Hashable, so that adding or removing many values,
/// or a few in a large collection, takes time linear in their number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ElementKey {
    /// The element's `value`, folded unless `caseExact`.
    Identity(String),
    /// The element as a whole.
    Whole(ValueKey),
}

/// Keys the elements of one multi-valued attribute ([`ElementKey`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct ElementKeys<'a> {
    attribute: &'a Attribute,
    /// The `value` sub-attribute that identifies elements, when there is one.
    identity: Option<&'a Attribute>,
}

impl<'a> ElementKeys<'a> {
    pub(super) fn new(attribute: &'a Attribute) -> Self {
        ElementKeys {
            attribute,
            identity: identity_sub(attribute),
        }
    }

    /// The key of `element`. An element with an assigned string `value` can only equal another
    /// such element: compared as wholes, the `value` only one of them has tells them apart.
    pub(super) fn of(&self, element: &Value) -> ElementKey {
        match self.identity.and_then(|sub| string_key(element, sub)) {
            Some(key) => ElementKey::Identity(key),
            None => ElementKey::Whole(ValueKey::of_element(element, self.attribute)),
        }
    }
}

/// The `value` sub-attribute that identifies the values of a complex attribute
/// ([`ElementKey::Identity`]), when it holds strings and is not `readOnly` (a `readOnly` one is
/// left out of whole-value comparisons, so it could not rule a match out).
fn identity_sub(attribute: &Attribute) -> Option<&Attribute> {
    if !attribute.is_complex() {
        return None;
    }
    attribute.sub_attribute("value").filter(|sub| {
        sub.mutability() != Mutability::ReadOnly
            && matches!(
                sub.attribute_type(),
                AttributeType::String | AttributeType::Reference | AttributeType::Binary
            )
    })
}

/// The comparison key of an element's string `value`: the value itself when `caseExact`, else
/// folded; `None` when the element has no assigned string value.
fn string_key(element: &Value, sub: &Attribute) -> Option<String> {
    let text = member(element.as_object()?, sub.name())?.as_str()?;
    // An empty string is not an assigned value (RFC 7643 §2.5, as filters read it).
    if text.is_empty() {
        return None;
    }
    Some(if sub.is_case_exact() {
        text.to_owned()
    } else {
        fold_case(text).into_owned()
    })
}

/// Whether `given`, a checked value of `attribute`, says nothing that differs from `current`:
/// `null`, an equal value, or for a singular complex attribute, sub-attributes that each agree.
/// This is how a `readOnly` value sent back by a client is recognised as harmless.
pub(super) fn agrees(current: Option<&Value>, given: &Value, attribute: &Attribute) -> bool {
    match given {
        Value::Null => true,
        Value::Object(members) if attribute.is_complex() && !attribute.is_multi_valued() => {
            let current = current.and_then(Value::as_object);
            members.iter().all(|(key, value)| {
                attribute.sub_attribute(key).is_some_and(|sub| {
                    agrees(current.and_then(|c| member(c, sub.name())), value, sub)
                })
            })
        }
        _ => same_value(current, Some(given), attribute),
    }
}

/// The stored form of a value of `attribute`: nulls and empty complex values dropped, and an
/// empty array or an object with nothing left read as unassigned (`Value::Null`).
///
/// Works in place and touches only what must go: it runs on the whole attribute after every
/// operation, and a group's `members` may hold a hundred thousand values.
pub(super) fn tidy(mut value: Value, attribute: &Attribute) -> Value {
    if tidy_in_place(&mut value, attribute) {
        Value::Null
    } else {
        value
    }
}

/// Tidies `value` and answers whether nothing is left.
fn tidy_in_place(value: &mut Value, attribute: &Attribute) -> bool {
    match value {
        Value::Array(items) if attribute.is_multi_valued() => {
            items.retain_mut(|item| !tidy_single_in_place(item, attribute));
            items.is_empty()
        }
        other => tidy_single_in_place(other, attribute),
    }
}

fn tidy_single_in_place(value: &mut Value, attribute: &Attribute) -> bool {
    match value {
        Value::Null => true,
        Value::Object(members) if attribute.is_complex() => {
            members.retain(|key, member_value| match attribute.sub_attribute(key) {
                Some(sub) => !tidy_in_place(member_value, sub),
                None => !member_value.is_null(),
            });
            members.is_empty()
        }
        _ => false,
    }
}
