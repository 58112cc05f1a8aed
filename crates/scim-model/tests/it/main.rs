//! Integration tests of `scim-model`, one binary (see STYLE.md): the RFC 7643 §8 examples,
//! the built-in schemas, the registry's lookups, the RFC 7644 messages and the error type.

mod builtin;
mod errors;
mod filter_eval;
mod hostile;
mod lookup;
mod messages;
mod patch;
mod project;
mod registry;
mod rfc7643;
mod search_doc;
mod validate;

use serde_json::Value;

/// An RFC 7643 §8 example from `tests/rfc7643/`.
pub fn rfc_example(file: &str) -> Value {
    let path = format!("{}/tests/rfc7643/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Deserialises `value` as `T`, serialises it back and checks nothing was lost or added.
pub fn assert_round_trip<T>(value: &Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("deserialises: {e}"));
    let back = serde_json::to_value(&typed).unwrap_or_else(|e| panic!("serialises: {e}"));
    assert_eq!(&back, value, "round trip changed the JSON");
    typed
}
