//! Values of a PATCH checked against their attribute, compared the SCIM way, and tidied for
//! storage.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::PatchOptions;
use crate::error::ScimError;
use crate::schema::{Attribute, AttributeType, Mutability, ResourceTypeView};
use crate::validate::{CanonicalValues, UnknownAttributes, ValidationOptions, ValueChecker};
use crate::value::{compare_numbers, fold_case, is_assigned, member, parse_date_time, values_of};

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

/// Whether two values of `attribute` are the same SCIM value: strings per `caseExact`,
/// dateTimes as instants, numbers by value, complex values sub-attribute by sub-attribute,
/// multi-valued ones as unordered collections. Unassigned equals unassigned.
pub(super) fn same_value(a: Option<&Value>, b: Option<&Value>, attribute: &Attribute) -> bool {
    fn of<'v>(value: Option<&'v Value>, attribute: &Attribute) -> Vec<&'v Value> {
        value
            .map(|value| {
                values_of(value, attribute)
                    .filter(|v| is_assigned(v, attribute))
                    .collect()
            })
            .unwrap_or_default()
    }
    let (left, right) = (of(a, attribute), of(b, attribute));
    if left.len() != right.len() {
        return false;
    }
    if !attribute.is_multi_valued() {
        return left
            .iter()
            .zip(&right)
            .all(|(x, y)| same_single(x, y, attribute));
    }
    // Unordered: each value of one side pairs with a distinct equal value of the other.
    let mut used = vec![false; right.len()];
    left.iter().all(|x| {
        let found = right.iter().enumerate().position(|(i, y)| {
            !used.get(i).copied().unwrap_or(true) && same_single(x, y, attribute)
        });
        match found.and_then(|i| used.get_mut(i)) {
            Some(slot) => {
                *slot = true;
                true
            }
            None => false,
        }
    })
}

/// Whether two single values (elements, for a multi-valued attribute) are equal.
pub(super) fn same_single(a: &Value, b: &Value, attribute: &Attribute) -> bool {
    match (attribute.attribute_type(), a, b) {
        // `readOnly` sub-attributes are the server's (`manager.displayName`): two values that
        // differ only there are the same value, as validation compares them.
        (AttributeType::Complex, Value::Object(x), Value::Object(y)) => attribute
            .sub_attributes()
            .iter()
            .filter(|sub| sub.mutability() != Mutability::ReadOnly)
            .all(|sub| same_value(member(x, sub.name()), member(y, sub.name()), sub)),
        (
            AttributeType::String | AttributeType::Reference | AttributeType::Binary,
            Value::String(x),
            Value::String(y),
        ) => {
            if attribute.is_case_exact() {
                x == y
            } else {
                fold_case(x) == fold_case(y)
            }
        }
        (AttributeType::DateTime, Value::String(x), Value::String(y)) => {
            match (parse_date_time(x), parse_date_time(y)) {
                (Some(x), Some(y)) => x == y,
                _ => x == y,
            }
        }
        (_, Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// Whether two elements of a multi-valued attribute are the same value for `add` (not added
/// twice) and for `remove` with a value: complex elements that both carry a `value`
/// sub-attribute compare by it (RFC 7643 §2.4 makes `value` the element's identity, e.g. a
/// member's id); otherwise the elements compare as wholes.
fn same_element(a: &Value, b: &Value, attribute: &Attribute) -> bool {
    if attribute.is_complex() {
        if let (Some(sub), Value::Object(x), Value::Object(y)) =
            (attribute.sub_attribute("value"), a, b)
        {
            let (x, y) = (member(x, sub.name()), member(y, sub.name()));
            if let (Some(x), Some(y)) = (x, y) {
                if is_assigned(x, sub) && is_assigned(y, sub) {
                    return same_single(x, y, sub);
                }
            }
        }
    }
    same_single(a, b, attribute)
}

/// One element compared with many: an `add` looking for it in a large collection (a group's
/// members), or a `remove` listing it. Answers as [`same_element`] does, with the element's
/// `value` looked up and folded once rather than once per comparison.
pub(super) struct ElementProbe<'a> {
    element: &'a Value,
    attribute: &'a Attribute,
    /// The identifying `value` sub-attribute ([`identity_sub`]) and the element's key for it
    /// ([`string_key`]).
    key: Option<(&'a Attribute, Cow<'a, str>)>,
}

impl<'a> ElementProbe<'a> {
    pub(super) fn new(element: &'a Value, attribute: &'a Attribute) -> Self {
        let key =
            identity_sub(attribute).and_then(|sub| string_key(element, sub).map(|key| (sub, key)));
        ElementProbe {
            element,
            attribute,
            key,
        }
    }

    /// Whether `other` is the same value as the probed element.
    pub(super) fn matches(&self, other: &Value) -> bool {
        if let Some((sub, key)) = &self.key {
            return match string_key(other, sub) {
                Some(other_key) => other_key == *key,
                // Compared as wholes, the `value` only one of them has tells them apart.
                None => false,
            };
        }
        same_element(other, self.element, self.attribute)
    }
}

/// The elements of a collection, indexed by their string `value` so that adding many values to
/// a large collection (a group of a hundred thousand members) does not compare each with every
/// element. [`ElementIndex::contains`] answers as [`ElementProbe::matches`] over every element.
pub(super) struct ElementIndex<'a> {
    items: &'a [Value],
    attribute: &'a Attribute,
    /// The keys of the elements holding a string `value`; `None` when the attribute has no
    /// such sub-attribute that identifies its values (see [`identity_sub`]), or when scanning
    /// is cheaper.
    keys: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> ElementIndex<'a> {
    /// Indexes `items` to look up `lookups` values; for a few, a scan is cheaper than hashing
    /// the whole collection, and nothing is indexed.
    pub(super) fn new(items: &'a [Value], attribute: &'a Attribute, lookups: usize) -> Self {
        const SCAN_AT_MOST: usize = 4;
        let sub = identity_sub(attribute).filter(|_| lookups > SCAN_AT_MOST);
        let keys = sub.map(|sub| {
            items
                .iter()
                .filter_map(|item| string_key(item, sub))
                .collect()
        });
        ElementIndex {
            items,
            attribute,
            keys,
        }
    }

    /// Whether the collection holds the same value as `element`.
    pub(super) fn contains(&self, element: &Value) -> bool {
        let probe = ElementProbe::new(element, self.attribute);
        match (&self.keys, &probe.key) {
            // An element with a value can only equal elements with a value: compared as wholes,
            // the `value` sub-attribute differs (it is not readOnly, so it counts).
            (Some(keys), Some((_, key))) => keys.contains(key),
            _ => self.items.iter().any(|item| probe.matches(item)),
        }
    }
}

/// The `value` sub-attribute that identifies the values of a complex attribute for
/// [`same_element`], when it holds strings and is not `readOnly` (a `readOnly` one is left out
/// of whole-value comparisons, so it could not rule a match out).
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
fn string_key<'v>(element: &'v Value, sub: &Attribute) -> Option<Cow<'v, str>> {
    let text = member(element.as_object()?, sub.name())?.as_str()?;
    // An empty string is not an assigned value (RFC 7643 §2.5, as filters read it).
    if text.is_empty() {
        return None;
    }
    Some(if sub.is_case_exact() {
        Cow::Borrowed(text)
    } else {
        fold_case(text)
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

/// Removes every member of `object` called `name`, in any case, and returns the value of the
/// exactly-named one if there is one, else of the first other spelling.
pub(super) fn remove_member(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let mut found = object.remove(name);
    while let Some(key) = crate::value::member_key(object, name).map(str::to_owned) {
        let value = object.remove(&key);
        if found.is_none() {
            found = value;
        }
    }
    found
}
