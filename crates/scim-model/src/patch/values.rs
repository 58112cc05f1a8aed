//! Values of a PATCH checked against their attribute, compared the SCIM way, and tidied for
//! storage.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Number, Value};

use crate::error::ScimError;
use crate::schema::{Attribute, AttributeType, Mutability};
use crate::value::{compare_numbers, fold_case, is_assigned, member, parse_date_time, values_of};

/// Checks values against their attribute's type and brings them to the stored shape.
///
/// Nulls are kept (they mean "unassigned" and clear what they land on); [`tidy`] drops them
/// once a value is merged.
#[derive(Debug, Clone, Copy)]
pub(super) struct Checker {
    pub(super) coerce_boolean_strings: bool,
}

impl Checker {
    /// A whole value of `attribute`: an array for a multi-valued attribute (a lone value is
    /// wrapped, `null` elements dropped), one value for a singular one (a one-element array is
    /// unwrapped). `path` names the attribute in errors.
    pub(super) fn attribute(
        &self,
        value: &Value,
        attribute: &Attribute,
        path: &str,
    ) -> Result<Value, ScimError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        if attribute.is_multi_valued() {
            let items: &[Value] = match value {
                Value::Array(items) => items,
                lone => std::slice::from_ref(lone),
            };
            let mut checked = Vec::with_capacity(items.len());
            for item in items.iter().filter(|item| !item.is_null()) {
                checked.push(self.single(item, attribute, path)?);
            }
            Ok(Value::Array(checked))
        } else {
            self.element(value, attribute, path)
        }
    }

    /// One value of `attribute` (one element, for a multi-valued attribute). An empty array is
    /// unassigned; a one-element array given for a complex value is read as its element, as
    /// Entra ID sends `manager` as `[{"$ref": …, "value": …}]`.
    pub(super) fn element(
        &self,
        value: &Value,
        attribute: &Attribute,
        path: &str,
    ) -> Result<Value, ScimError> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::Array(items) => match items.as_slice() {
                [] => Ok(Value::Null),
                [only] if attribute.is_complex() => self.single(only, attribute, path),
                _ => Err(ScimError::invalid_value(format!(
                    "`{path}` is single-valued and must not be an array"
                ))),
            },
            other => self.single(other, attribute, path),
        }
    }

    fn single(&self, value: &Value, attribute: &Attribute, path: &str) -> Result<Value, ScimError> {
        let wrong = |expected: &str| {
            Err(ScimError::invalid_value(format!(
                "`{path}` takes {expected}, not {}",
                describe(value)
            )))
        };
        match attribute.attribute_type() {
            AttributeType::Complex => match value {
                Value::Object(members) => {
                    let mut checked = Map::new();
                    for (key, member_value) in members {
                        let Some(sub) = attribute.sub_attribute(key) else {
                            return Err(ScimError::invalid_path(format!(
                                "`{path}` has no sub-attribute `{key}`"
                            )));
                        };
                        let sub_path = format!("{path}.{}", sub.name());
                        let sub_value = self.attribute(member_value, sub, &sub_path)?;
                        checked.insert(sub.name().to_owned(), sub_value);
                    }
                    Ok(Value::Object(checked))
                }
                // `"manager": "<id>"` (Entra ID): the bare value is the `value` sub-attribute,
                // and `""` leaves the attribute unassigned, as validation reads it.
                Value::String(_) | Value::Number(_) if !attribute.is_multi_valued() => {
                    match attribute.sub_attribute("value") {
                        Some(_) if value.as_str() == Some("") => Ok(Value::Null),
                        Some(sub) => {
                            let sub_path = format!("{path}.{}", sub.name());
                            let checked = self.single(value, sub, &sub_path)?;
                            let mut object = Map::new();
                            object.insert(sub.name().to_owned(), checked);
                            Ok(Value::Object(object))
                        }
                        None => wrong("a JSON object"),
                    }
                }
                _ => wrong("a JSON object"),
            },
            AttributeType::Boolean => match value {
                Value::Bool(_) => Ok(value.clone()),
                Value::String(text) if self.coerce_boolean_strings => {
                    if text.trim().eq_ignore_ascii_case("true") {
                        Ok(Value::Bool(true))
                    } else if text.trim().eq_ignore_ascii_case("false") {
                        Ok(Value::Bool(false))
                    } else {
                        wrong("a boolean")
                    }
                }
                _ => wrong("a boolean"),
            },
            AttributeType::Integer => match value {
                Value::Number(n) => integer(n)
                    .map(Value::Number)
                    .map_or_else(|| wrong("an integer"), Ok),
                _ => wrong("an integer"),
            },
            AttributeType::Decimal => match value {
                Value::Number(_) => Ok(value.clone()),
                _ => wrong("a number"),
            },
            AttributeType::DateTime => match value {
                Value::String(text) if parse_date_time(text).is_some() => Ok(value.clone()),
                Value::String(_) => wrong("an xsd:dateTime such as 2011-05-13T04:42:34Z"),
                _ => wrong("an xsd:dateTime string"),
            },
            AttributeType::Binary => match value {
                Value::String(text) if is_base64(text) => Ok(value.clone()),
                Value::String(_) => wrong("base64-encoded bytes"),
                _ => wrong("a base64 string"),
            },
            AttributeType::String | AttributeType::Reference => match value {
                Value::String(_) => Ok(value.clone()),
                _ => wrong("a string"),
            },
        }
    }
}

/// The JSON type of `value`, for error details.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An integer (RFC 7643 §2.3.4: "A whole number with no fractional digits"); `3.0` counts and
/// is stored as `3`, as validation stores it.
fn integer(number: &Number) -> Option<Number> {
    if number.is_i64() || number.is_u64() {
        return Some(number.clone());
    }
    let float = number.as_f64()?;
    // `i64::MAX as f64` is 2^63, one past the largest i64, hence `<`; inside these bounds a
    // whole float converts exactly.
    let in_range = float >= i64::MIN as f64 && float < i64::MAX as f64;
    (float.fract() == 0.0 && in_range).then(|| Number::from(float as i64))
}

/// Base64 as RFC 4648 §4 defines it (RFC 7643 §2.3.6): the standard alphabet, padded to a
/// multiple of four characters, nothing else; the rule validation applies, so that PATCH
/// accepts exactly what POST and PUT accept.
fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    padding <= 2
        && bytes.get(..bytes.len() - padding).is_some_and(|body| {
            body.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_alphabet_and_padding() {
        for good in ["TWFu", "TWE=", "TQ==", "ab+/Zz09", ""] {
            assert!(is_base64(good), "{good}");
        }
        for bad in ["not base64!", "TQ=", "T===", "ab-_", "TWFu\n", "é"] {
            assert!(!is_base64(bad), "{bad}");
        }
    }
}
