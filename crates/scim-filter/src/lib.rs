#![doc = include_str!("../README.md")]

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
