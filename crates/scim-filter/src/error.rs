//! Parse errors that say what was expected where.

use std::fmt;

/// Why a filter or path could not be parsed, and where.
///
/// Its `Display` is a sentence fit for the `detail` of a SCIM `invalidFilter` or `invalidPath`
/// error, e.g. `expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr) after 9
/// characters, found "equals \"bj…"`. The number it prints is [`FilterError::position`]: the
/// characters before the problem, which is also the problem's zero-based index. It is worded
/// as a count rather than "at character N" so that no reader has to guess whether counting
/// starts at 0 or 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    kind: ErrorKind,
    position: usize,
    found: Option<String>,
}

/// What went wrong; see [`FilterError::kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is empty or only whitespace.
    #[error("empty expression")]
    Empty,
    /// The input is longer than the configured maximum.
    #[error("expression is {length} characters long, more than the limit of {max}")]
    TooLong {
        /// Length of the input in characters.
        length: usize,
        /// The configured limit.
        max: usize,
    },
    /// Parentheses or brackets nest deeper than the configured maximum.
    #[error("expression nests deeper than the limit of {max} levels")]
    TooDeep {
        /// The configured limit.
        max: usize,
    },
    /// The tree has more nodes (comparisons, `pr`, `and`, `or`, `not`, value filters) than
    /// the configured maximum.
    #[error("expression has more than the limit of {max} comparisons and operators")]
    TooManyNodes {
        /// The configured limit.
        max: usize,
    },
    /// The grammar did not match.
    #[error("expected {expected}")]
    Syntax {
        /// What would have been accepted, in words.
        expected: String,
    },
    /// A string literal is not valid JSON (for example a lone surrogate escape).
    #[error("invalid string literal: {0}")]
    InvalidString(String),
    /// A string literal holds U+0000 (NUL), which no SCIM value can hold.
    #[error("a string value must not contain U+0000 (NUL)")]
    NulInString,
    /// A number literal does not fit a JSON number.
    #[error("invalid number literal")]
    InvalidNumber,
    /// An unquoted word stands where a value was expected and leniency is off.
    #[error("string values must be quoted")]
    UnquotedValue,
    /// A value filter inside another value filter, which RFC 7644 does not allow.
    #[error("value filters cannot be nested")]
    NestedValueFilter,
    /// A value filter applied to a sub-attribute, as in `name.givenName[...]`.
    #[error("a value filter must follow a top-level attribute, not a sub-attribute")]
    FilterOnSubAttribute,
}

impl FilterError {
    pub(crate) fn new(kind: ErrorKind, input: &str, byte_offset: usize) -> Self {
        let byte_offset = byte_offset.min(input.len());
        let before = input.get(..byte_offset).unwrap_or(input);
        let rest = input.get(byte_offset..).unwrap_or("");
        let found = if rest.is_empty() {
            None
        } else {
            let mut snippet: String = rest.chars().take(12).collect();
            if rest.chars().nth(12).is_some() {
                snippet.push('…');
            }
            Some(snippet)
        };
        FilterError {
            kind,
            position: before.chars().count(),
            found,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Where the problem starts: the number of characters (not bytes) before it, so the
    /// zero-based index of its first character; `input.chars().skip(position)` is the rest the
    /// message quotes as "found". The message prints the same number ("after 9 characters").
    /// It is 0 for [`ErrorKind::Empty`] and [`ErrorKind::TooLong`], whose messages name no
    /// position.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self.kind, ErrorKind::Empty | ErrorKind::TooLong { .. }) {
            return write!(f, "{}", self.kind);
        }
        match self.position {
            0 => write!(f, "{} at the start", self.kind)?,
            1 => write!(f, "{} after 1 character", self.kind)?,
            n => write!(f, "{} after {n} characters", self.kind)?,
        }
        match &self.found {
            Some(snippet) => write!(f, ", found {snippet:?}"),
            None => f.write_str(", found the end of the input"),
        }
    }
}

impl std::error::Error for FilterError {}
