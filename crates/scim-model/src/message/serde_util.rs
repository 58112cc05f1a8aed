//! Serde helpers shared by the messages.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serializer};

/// An HTTP status written as a JSON string (`"status": "400"`, RFC 7644 §3.12 and §3.7.3) and
/// read from a string or a number, since clients write both.
pub(crate) mod status_string {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(status: &u16, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(status)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
        deserializer.deserialize_any(StatusVisitor)
    }

    struct StatusVisitor;

    impl Visitor<'_> for StatusVisitor {
        type Value = u16;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an HTTP status code, as a string or a number")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u16, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u16, E> {
            u16::try_from(value)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u16, E> {
            u16::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
        }
    }
}

/// Reads a keyword among `variants`, ignoring ASCII case.
pub(crate) fn keyword<'de, D, T>(
    deserializer: D,
    variants: &'static [(&'static str, T)],
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Copy,
{
    let text = String::deserialize(deserializer)?;
    variants
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&text))
        .map(|&(_, value)| value)
        .ok_or_else(|| {
            let expected: Vec<&str> = variants.iter().map(|&(name, _)| name).collect();
            de::Error::custom(format_args!(
                "unknown value `{text}`, expected one of: {}",
                expected.join(", ")
            ))
        })
}

/// A list of attribute names, given as a JSON array of strings or, as some clients send it, as
/// one comma-separated string (the form of the `attributes` query parameter).
pub(crate) fn attribute_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of attribute names or a comma-separated string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<String>, E> {
            Ok(value
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(name) = seq.next_element::<String>()? {
                names.push(name);
            }
            Ok(names)
        }
    }

    deserializer.deserialize_any(ListVisitor)
}
