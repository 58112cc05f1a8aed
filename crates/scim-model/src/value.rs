//! Reading SCIM values out of JSON: case-insensitive member lookup, case folding and
//! `xsd:dateTime` parsing, shared by filtering, projection and the store's search documents.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::schema::{Attribute, AttributeType};

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

/// Folds a string for case-insensitive comparison (`caseExact: false`, RFC 7643 §2.2).
///
/// Unicode-aware: `"ÉLAN"` and `"élan"` fold alike. The store folds with this same function,
/// so its SQL answers equal the in-memory evaluator's.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold_case("ÉLAN Ǆ"), "élan ǆ");
        assert!(matches!(fold_case("already"), Cow::Borrowed(_)));
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
