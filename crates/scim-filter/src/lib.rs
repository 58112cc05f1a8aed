//! Parser for the SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2).
//!
//! This crate is pure syntax: it knows nothing of schemas, resources, storage or HTTP. It turns
//! text into a typed [`Filter`] or [`PatchPath`] and prints them back in canonical form; what an
//! attribute means and how a filter is evaluated belong to the crates built on top of it.
//!
//! ```
//! use scim_filter::{parse, parse_path, AttrPath, CompValue, CompareOp, Filter, PatchPath};
//!
//! let filter = parse(r#"userName Eq "bjensen" and emails[type eq "work"]"#)?;
//! let Filter::And(parts) = &filter else { panic!("an and of two parts") };
//! assert_eq!(
//!     parts[0],
//!     Filter::compare(AttrPath::new("userName"), CompareOp::Eq, CompValue::String("bjensen".into())),
//! );
//! // Printed back canonically: lowercase keywords, single spaces.
//! assert_eq!(filter.to_string(), r#"userName eq "bjensen" and emails[type eq "work"]"#);
//!
//! let path = parse_path(r#"emails[type eq "work"].value"#)?;
//! assert!(matches!(path, PatchPath::Filtered { sub_attr: Some(_), .. }));
//!
//! let error = parse("userName equals \"x\"").unwrap_err();
//! assert_eq!(error.position(), 9);
//! # Ok::<(), scim_filter::FilterError>(())
//! ```
//!
//! Inputs are bounded by [`ParseOptions`] (length, nesting depth and number of nodes) so that
//! hostile filters are refused with an error rather than a stack overflow or an unbounded
//! evaluation. A string value holding U+0000 is refused too: no SCIM value can hold it.

mod ast;
mod error;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use error::{ErrorKind, FilterError};
pub use parser::ParseOptions;

/// Parses a filter with the default [`ParseOptions`].
///
/// # Errors
/// A [`FilterError`] saying what was expected at which character.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    ParseOptions::default().parse(input)
}

/// Parses a PATCH path with the default [`ParseOptions`].
///
/// # Errors
/// A [`FilterError`] saying what was expected at which character.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    ParseOptions::default().parse_path(input)
}

impl std::str::FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl std::str::FromStr for PatchPath {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_path(s)
    }
}
