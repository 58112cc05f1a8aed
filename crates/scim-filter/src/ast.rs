//! The typed syntax tree of filters and PATCH paths, and its canonical printing.

use std::fmt;

/// A reference to an attribute: `[URN ":"] name ["." subAttr]` (RFC 7644 §3.10).
///
/// Names keep the spelling the client used; SCIM compares them case-insensitively, which is the
/// job of whoever resolves them against a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the attribute is qualified with, without the trailing colon.
    pub urn: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name, for `name.givenName`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute with no URN and no sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// A path to `name.sub_attr`.
    pub fn with_sub(name: impl Into<String>, sub_attr: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: Some(sub_attr.into()),
        }
    }

    /// The same path qualified with a schema URN.
    #[must_use]
    pub fn in_schema(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The comparison operators of RFC 7644 §3.4.2.2 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// Every operator, in the RFC's order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    /// The operator's keyword, lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// Whether the operator orders values (`gt`, `ge`, `lt`, `le`), which RFC 7644 §3.4.2.2
    /// forbids on booleans and complex attributes.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    /// Parses a keyword in any case.
    pub fn from_keyword(keyword: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(keyword))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A literal on the right of a comparison: `compValue` of RFC 7644 §3.4.2.2.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number, kept exact.
    Number(serde_json::Number),
    /// A JSON string, unescaped.
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string literal; the filter grammar's strings are JSON strings.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A filter expression (RFC 7644 §3.4.2.2).
///
/// `And` and `Or` hold two or more operands; a chain `a and b and c` is one node, while explicit
/// parentheses such as `a and (b and c)` keep their own node, so printing and re-parsing gives
/// back the same tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath compareOp compValue`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared with.
        value: CompValue,
    },
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// Every operand holds.
    And(Vec<Filter>),
    /// At least one operand holds.
    Or(Vec<Filter>),
    /// `not ( filter )`.
    Not(Box<Filter>),
    /// `attrPath [ valFilter ]`: some value of a multi-valued complex attribute matches `filter`,
    /// whose paths name sub-attributes of `attr`.
    ValuePath {
        /// The multi-valued attribute, never with a sub-attribute.
        attr: AttrPath,
        /// The condition on one of its values.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// `path op value`.
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    /// Calls `visit` on every attribute path of the filter, value-path attributes included.
    ///
    /// Paths inside a value filter are relative to its attribute; the second argument is that
    /// attribute when the path is inside one.
    pub fn for_each_path<'a>(&'a self, visit: &mut impl FnMut(&'a AttrPath, Option<&'a AttrPath>)) {
        self.walk_paths(None, visit);
    }

    fn walk_paths<'a>(
        &'a self,
        parent: Option<&'a AttrPath>,
        visit: &mut impl FnMut(&'a AttrPath, Option<&'a AttrPath>),
    ) {
        match self {
            Filter::Compare { path, .. } | Filter::Present(path) => visit(path, parent),
            Filter::And(items) | Filter::Or(items) => {
                for item in items {
                    item.walk_paths(parent, visit);
                }
            }
            Filter::Not(inner) => inner.walk_paths(parent, visit),
            Filter::ValuePath { attr, filter } => {
                visit(attr, parent);
                filter.walk_paths(Some(attr), visit);
            }
        }
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, parent_is_and: bool) -> fmt::Result {
        let needs_parens = match self {
            Filter::Or(_) => true,
            Filter::And(_) => parent_is_and,
            _ => false,
        };
        if needs_parens {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(items) | Filter::Or(items) => {
                let (keyword, is_and) = match self {
                    Filter::And(_) => (" and ", true),
                    _ => (" or ", false),
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(keyword)?;
                    }
                    item.fmt_operand(f, is_and)?;
                }
                Ok(())
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

/// The target of a PATCH operation (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `attr`, `attr.sub`, or a URN-qualified form of either.
    Attr(AttrPath),
    /// `attr[filter]` or `attr[filter].sub`: the values of a multi-valued attribute that match.
    Filtered {
        /// The multi-valued attribute, never with a sub-attribute.
        attr: AttrPath,
        /// Which of its values are targeted.
        filter: Filter,
        /// The sub-attribute of the matching values, for `emails[type eq "work"].value`.
        sub_attr: Option<String>,
    },
}

impl PatchPath {
    /// The attribute the path starts from.
    pub fn attr(&self) -> &AttrPath {
        match self {
            PatchPath::Attr(attr) | PatchPath::Filtered { attr, .. } => attr,
        }
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(attr) => write!(f, "{attr}"),
            PatchPath::Filtered {
                attr,
                filter,
                sub_attr,
            } => {
                write!(f, "{attr}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}
