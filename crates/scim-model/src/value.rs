//! Reading SCIM values out of JSON: case-insensitive member lookup, case folding,
//! `xsd:dateTime` parsing and value equality, shared by filtering, projection, validation,
//! PATCH and the store's search documents.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::schema::{Attribute, AttributeType, Mutability};

/// The member of `object` named `name`, compared case-insensitively (RFC 7643 §2.1: attribute
/// names are case-insensitive). An exact match wins over a case-insensitive one.
pub fn member<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// The key under which `object` holds `name`, compared case-insensitively.
pub fn member_key<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
    if let Some((key, _)) = object.get_key_value(name) {
        return Some(key);
    }
    object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .map(String::as_str)
}

/// The member of `object` named `name`, compared case-insensitively, to change in place; an
/// exact match wins, as in [`member`].
pub fn member_mut<'v>(object: &'v mut Map<String, Value>, name: &str) -> Option<&'v mut Value> {
    let key = member_key(object, name)?.to_owned();
    object.get_mut(&key)
}

/// Removes every member of `object` called `name`, in any case, and returns the value of the
/// exactly-named one if there is one, else of the first other spelling.
pub fn remove_member(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let mut found = object.remove(name);
    while let Some(key) = member_key(object, name).map(str::to_owned) {
        let value = object.remove(&key);
        if found.is_none() {
            found = value;
        }
    }
    found
}

/// Folds a string for case-insensitive comparison (`caseExact: false`, RFC 7643 §2.2), as
/// RFC 8265 §3.3.2 prepares a username for comparison (UsernameCaseMapped), as far as it
/// applies to any string: uppercase and titlecase letters mapped to lowercase (Unicode
/// `toLowerCase`), then the result in Normalization Form C. So `"ÉLAN"` and `"élan"` fold alike,
/// and so do the precomposed `é` (U+00E9) and the decomposed `e` + U+0301 that some clients
/// send: one name, whichever way its bytes were composed. (RFC 8265's width mapping of
/// fullwidth letters and its directionality rule are not applied.)
///
/// The uniqueness keys, the store's search documents and filter operands are all folded with
/// this one function, so the store's SQL answers equal the in-memory evaluator's.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        // ASCII is in NFC, and its case mapping is ASCII's.
        return if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        };
    }
    let lowered = if s.chars().any(changes_case) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    };
    // Lowercase first, as RFC 8265 orders it: NFC of a lowercase string stays lowercase, so
    // folding twice changes nothing more.
    match is_nfc_quick(lowered.chars()) {
        IsNormalized::Yes => lowered,
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(lowered.nfc().collect()),
    }
}

/// Whether lowercasing changes `c`: uppercase and titlecase letters (`Ǆ`, `ǅ`), and a few
/// others with a lowercase mapping.
fn changes_case(c: char) -> bool {
    let mut lower = c.to_lowercase();
    lower.next() != Some(c) || lower.next().is_some()
}

/// Parses an `xsd:dateTime` (RFC 7643 §2.3.5), e.g. `2011-05-13T04:42:34Z` or
/// `2011-05-13T04:42:34.123+02:00`. A value without a time zone is read as UTC.
pub fn parse_date_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(parsed) = DateTime::parse_from_rfc3339(s) {
        return Some(parsed.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Prints a date-time in the one form the server emits: UTC, `Z`, and fractional seconds only
/// when there are any. Its text sorts chronologically within the years 0000–9999.
pub fn format_date_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Prints a date-time in a fixed-width UTC form (`2011-05-13T04:42:34.000000Z`) whose text
/// order is chronological order, for stores that compare date-times as strings.
pub fn sortable_date_time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Compares two JSON numbers by value.
pub fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Whether a value counts as present for `pr` (RFC 7644 §3.4.2.2): not null, not an empty
/// string, array or object, and for a complex value, some sub-attribute present.
pub fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The values `value` holds for `attribute`: each element of an array for a multi-valued
/// attribute (a lone value counts as one), the value itself for a singular one. An array where
/// a single value belongs holds nothing.
pub fn values_of<'v>(value: &'v Value, attribute: &Attribute) -> impl Iterator<Item = &'v Value> {
    let (items, single): (&[Value], Option<&Value>) = match value {
        Value::Array(items) if attribute.is_multi_valued() => (items, None),
        Value::Array(_) => (&[], None),
        other => (&[], Some(other)),
    };
    items.iter().chain(single)
}

/// Whether one value (an element, for a multi-valued attribute) is an assigned value of
/// `attribute`: of the attribute's type and not empty (RFC 7643 §2.5). A complex value counts
/// when one of its sub-attributes does. Filters see only such values, and the store's search
/// documents keep only them.
pub fn is_assigned(value: &Value, attribute: &Attribute) -> bool {
    match (attribute.attribute_type(), value) {
        (
            AttributeType::String | AttributeType::Reference | AttributeType::Binary,
            Value::String(s),
        ) => !s.is_empty(),
        (AttributeType::Boolean, Value::Bool(_)) | (AttributeType::Decimal, Value::Number(_)) => {
            true
        }
        (AttributeType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (AttributeType::DateTime, Value::String(s)) => parse_date_time(s).is_some(),
        (AttributeType::Complex, Value::Object(members)) => members.iter().any(|(key, value)| {
            attribute
                .sub_attribute(key)
                .is_some_and(|sub| values_of(value, sub).any(|v| is_assigned(v, sub)))
        }),
        _ => false,
    }
}

/// Whether two values of `attribute` are the same SCIM value: strings per `caseExact` (folded
/// with [`fold_case`] otherwise), dateTimes as instants, numbers by value, complex values
/// sub-attribute by sub-attribute (`readOnly` ones left out: they are the server's, like
/// `manager.displayName`), multi-valued ones as unordered collections counting repeats. Only
/// assigned values count ([`is_assigned`]), so unassigned equals unassigned.
///
/// This is the one definition of SCIM value equality: validation (an `immutable` value on PUT)
/// and PATCH (immutability, `readOnly` values sent back, duplicates in `add` and `remove`) both
/// use it, through [`ValueKey`] where many values are compared.
///
/// ```
/// use scim_model::schema::SchemaRegistry;
/// use scim_model::value::same_value;
/// use serde_json::json;
///
/// let registry = SchemaRegistry::standard();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// let emails = users.resolve(None, "emails", None)?.attribute();
/// let a = json!([{"value": "BJ@example.com", "type": "work"}, {"value": "b@x.org"}]);
/// let b = json!([{"value": "b@x.org", "display": null}, {"type": "work", "value": "bj@example.com"}]);
/// assert!(same_value(Some(&a), Some(&b), emails));
/// assert!(!same_value(Some(&a), None, emails));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn same_value(a: Option<&Value>, b: Option<&Value>, attribute: &Attribute) -> bool {
    ValueKey::of(a, attribute) == ValueKey::of(b, attribute)
}

/// A value of an attribute in the form [`same_value`] compares: two values are the same SCIM
/// value exactly when their keys are equal, so keys can be hashed to compare or deduplicate
/// many values in linear time.
///
/// Numbers compare by value (`3.0` is `3`); an integer beyond what a float holds exactly
/// compares exactly, never rounded to a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueKey(Vec<Key>);

/// One value's key; see [`ValueKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    Integer(i64),
    /// An integer above `i64::MAX`.
    Unsigned(u64),
    /// Any other number, as the bits of its `f64` (never `-0.0` or a whole number).
    Float(u64),
    /// A string, folded unless its attribute is `caseExact`.
    Text(String),
    Instant(DateTime<Utc>),
    /// Each sub-attribute that is not `readOnly`, in the schema's order.
    Complex(Vec<ValueKey>),
    /// A value of a type its attribute does not take, as JSON text.
    Other(String),
}

impl ValueKey {
    /// The key of `value` (`None` when the attribute is absent): its assigned values, each
    /// keyed, in a canonical order for a multi-valued attribute.
    pub fn of(value: Option<&Value>, attribute: &Attribute) -> Self {
        let mut keys: Vec<Key> = value
            .map(|value| {
                values_of(value, attribute)
                    .filter(|v| is_assigned(v, attribute))
                    .map(|v| Key::of(v, attribute))
                    .collect()
            })
            .unwrap_or_default();
        if keys.len() > 1 {
            keys.sort_unstable();
        }
        ValueKey(keys)
    }

    /// The key of one value given alone (one element of a multi-valued attribute), assigned
    /// or not: `{}` and `{"value": null}` are one key, an empty string another.
    pub fn of_element(element: &Value, attribute: &Attribute) -> Self {
        ValueKey(vec![Key::of(element, attribute)])
    }
}

impl Key {
    fn of(value: &Value, attribute: &Attribute) -> Self {
        match (attribute.attribute_type(), value) {
            (AttributeType::Complex, Value::Object(members)) => Key::Complex(
                attribute
                    .sub_attributes()
                    .iter()
                    .filter(|sub| sub.mutability() != Mutability::ReadOnly)
                    .map(|sub| ValueKey::of(member(members, sub.name()), sub))
                    .collect(),
            ),
            (
                AttributeType::String | AttributeType::Reference | AttributeType::Binary,
                Value::String(text),
            ) => Key::Text(if attribute.is_case_exact() {
                text.clone()
            } else {
                fold_case(text).into_owned()
            }),
            (AttributeType::DateTime, Value::String(text)) => match parse_date_time(text) {
                Some(at) => Key::Instant(at),
                None => Key::Text(text.clone()),
            },
            (_, Value::Number(number)) => Key::number(number),
            (_, Value::Bool(b)) => Key::Bool(*b),
            (_, other) => Key::Other(other.to_string()),
        }
    }

    fn number(number: &serde_json::Number) -> Self {
        if let Some(i) = number.as_i64() {
            return Key::Integer(i);
        }
        if let Some(u) = number.as_u64() {
            return Key::Unsigned(u);
        }
        let float = number.as_f64().unwrap_or(f64::NAN);
        // `i64::MAX as f64` is 2^63, one past the largest i64, hence `<`.
        if float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64 {
            return Key::Integer(float as i64);
        }
        Key::Float(float.to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold_case("ÉLAN Ǆ"), "élan ǆ");
        assert!(matches!(fold_case("already"), Cow::Borrowed(_)));
        assert!(matches!(fold_case("déjà"), Cow::Borrowed(_)));
        // Titlecase letters map to lowercase too (RFC 8265 §3.3.2: "uppercase and titlecase").
        assert_eq!(fold_case("ǅ"), "ǆ");
    }

    /// RFC 8265 §3.3.2 (UsernameCaseMapped): case mapping, then normalization form C, so that
    /// one name composed two ways is one name.
    #[test]
    fn rfc8265_3_3_2_case_mapping_then_nfc() {
        let precomposed = "Ren\u{e9}e";
        let decomposed = "Rene\u{301}e";
        assert_ne!(precomposed, decomposed);
        assert_eq!(fold_case(precomposed), "ren\u{e9}e");
        assert_eq!(fold_case(decomposed), "ren\u{e9}e");
        // Uppercase decomposed, and singletons such as the Angstrom and Kelvin signs.
        assert_eq!(fold_case("RENE\u{301}E"), "ren\u{e9}e");
        assert_eq!(fold_case("\u{212b}"), "\u{e5}");
        assert_eq!(fold_case("\u{212a}"), "k");
        // Folding is idempotent, also where lowercasing lengthens the string.
        for s in [
            "\u{130}",
            "A\u{30a}\u{323}",
            "\u{1fbb}\u{345}",
            "ΟΔΟΣ",
            "\u{1f88}",
        ] {
            let once = fold_case(s).into_owned();
            assert_eq!(fold_case(&once), once, "{s}");
        }
    }

    /// RFC 7643 §2.3.5: dateTime is xsd:dateTime, with or without fractional seconds.
    #[test]
    fn rfc7643_2_3_5_date_times() {
        let a = parse_date_time("2011-05-13T04:42:34Z").unwrap();
        let b = parse_date_time("2011-05-13T06:42:34.000+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(parse_date_time("2011-05-13T04:42:34").unwrap(), a);
        assert!(parse_date_time("13/05/2011").is_none());
        assert!(parse_date_time("04-12-2018 00:00:00").is_none());
        assert_eq!(format_date_time(&a), "2011-05-13T04:42:34Z");
    }

    #[test]
    fn presence() {
        assert!(!is_present(&serde_json::json!(null)));
        assert!(!is_present(&serde_json::json!("")));
        assert!(!is_present(&serde_json::json!([])));
        assert!(!is_present(&serde_json::json!({"a": null, "b": []})));
        assert!(is_present(&serde_json::json!(false)));
        assert!(is_present(&serde_json::json!([{"value": "x"}])));
    }
}
