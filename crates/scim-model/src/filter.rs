//! Filter evaluation (RFC 7644 §3.4.2.2): a `scim-filter` tree checked against a resource type's
//! schemas, then evaluated over resources held as JSON.
//!
//! Compiling resolves every attribute once and rejects what the schema makes meaningless, so a
//! [`CompiledFilter`] evaluates without errors. The store translates the same compiled form to
//! SQL, and is tested to answer exactly as [`CompiledFilter::matches`] does: this evaluator is
//! the reference.
//!
//! Semantics, where RFC 7644 leaves room:
//! - A multi-valued attribute matches when any of its values matches. Only assigned values
//!   count ([`crate::value::is_assigned`]: of the attribute's type and not empty;
//!   RFC 7643 §2.5 treats null and empty as unassigned, and an empty string is treated alike),
//!   so `title eq ""` never matches and a value filter never matches an empty element.
//! - `ne` is the negation of `eq`: `emails.value ne "x"` holds when no email has value `x`,
//!   including when there are no emails. `eq null` holds when the attribute is not present and
//!   `ne null` when it is.
//! - A comparison on a complex attribute without a sub-attribute compares its `value`
//!   sub-attribute (`emails co "example.com"`, as in the RFC's own examples); ordering
//!   operators on a complex or boolean attribute are an `invalidFilter` error.
//! - Strings compare case-insensitively (Unicode lowercase, then NFC: [`fold_case`]) unless the
//!   attribute is `caseExact`;
//!   `gt`/`lt` order strings by code point. dateTimes compare chronologically.
//! - An attribute whose `returned` is `never` (`password`) cannot be filtered on:
//!   `invalidFilter`, so no client can test a secret value.
//! - A literal of the wrong type for the attribute (`active eq "yes"`, `userName gt 3`) is an
//!   `invalidFilter` error rather than a silent non-match.

use chrono::{DateTime, Utc};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::Value;

use crate::error::ScimError;
use crate::schema::{AttributeType, ResolvedAttribute, ResourceTypeView};
use crate::value::{compare_numbers, fold_case, is_assigned, member, parse_date_time, values_of};

/// A filter resolved against a resource type, ready to evaluate or translate.
///
/// ```
/// use scim_model::filter::CompiledFilter;
/// use scim_model::schema::SchemaRegistry;
///
/// let registry = SchemaRegistry::standard();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// let filter = scim_filter::parse(r#"userName eq "BJENSEN" and emails[type eq "work"]"#)?;
/// let compiled = CompiledFilter::compile(&filter, users)?;
///
/// let user = serde_json::json!({
///     "userName": "bjensen",
///     "emails": [{"type": "work", "value": "bjensen@example.com"}],
/// });
/// assert!(compiled.matches(&user));
///
/// let bad = scim_filter::parse(r#"active gt true"#)?;
/// assert!(CompiledFilter::compile(&bad, users).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFilter<'r> {
    root: Node<'r>,
}

/// A node of a compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'r> {
    /// Some value of the attribute compares true with the operand.
    Compare(Comparison<'r>),
    /// Some value of the attribute is present (non-null, non-empty).
    Present(ResolvedAttribute<'r>),
    /// Every operand holds.
    And(Vec<Node<'r>>),
    /// Some operand holds.
    Or(Vec<Node<'r>>),
    /// The operand does not hold.
    Not(Box<Node<'r>>),
    /// Some value of the multi-valued complex attribute satisfies `filter`, whose attributes are
    /// sub-attributes of `attr` read from that one value (`emails[type eq "work" and value co
    /// "@example.com"]`).
    Any {
        /// The complex attribute whose values are tried.
        attr: ResolvedAttribute<'r>,
        /// The condition on one value; its attributes all carry a sub-attribute of `attr`.
        filter: Box<Node<'r>>,
    },
}

/// `attr op operand`, with `op` never `ne` (compiled to `not eq`).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison<'r> {
    /// The attribute compared; for a complex attribute, its sub-attribute.
    pub attr: ResolvedAttribute<'r>,
    /// The operator: `eq`, `co`, `sw`, `ew`, `gt`, `ge`, `lt` or `le`.
    pub op: CompareOp,
    /// The literal, already in the attribute's terms.
    pub operand: Operand,
}

impl Comparison<'_> {
    /// Whether string comparisons of this attribute ignore case.
    pub fn case_insensitive(&self) -> bool {
        matches!(self.operand, Operand::String(_)) && !self.attr.target().is_case_exact()
    }
}

/// A literal converted to the type of the attribute it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// For boolean attributes.
    Bool(bool),
    /// For integer and decimal attributes.
    Number(serde_json::Number),
    /// For string, reference and binary attributes; already case-folded when the attribute is
    /// not `caseExact`.
    String(String),
    /// For dateTime attributes.
    DateTime(DateTime<Utc>),
}

impl<'r> CompiledFilter<'r> {
    /// Resolves and checks `filter` against `resource_type`.
    ///
    /// # Errors
    /// A 400 `invalidFilter` [`ScimError`] naming the unknown attribute, or the operator or
    /// literal the attribute cannot take.
    pub fn compile(
        filter: &Filter,
        resource_type: ResourceTypeView<'r>,
    ) -> Result<Self, ScimError> {
        let root = Compiler { resource_type }.node(filter, None)?;
        Ok(CompiledFilter { root })
    }

    /// The compiled tree, for translators such as the store's SQL builder.
    pub fn root(&self) -> &Node<'r> {
        &self.root
    }

    /// Whether `resource` (a SCIM resource as JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        self.root.eval(Scope::Resource(resource))
    }

    /// For a filter compiled from a value filter ([`Filter::ValuePath`], `emails[type eq
    /// "work"]`): whether `element`, one value of that multi-valued complex attribute, matches
    /// the condition in brackets. It answers as [`CompiledFilter::matches`] does for a resource
    /// whose attribute holds `element` alone, without building that resource; an unassigned
    /// element (`null`, `{}`) never matches. PATCH uses it to select the values of
    /// `emails[type eq "work"].value`.
    ///
    /// Any other filter matches no element: it names attributes of the resource, not of a
    /// value.
    ///
    /// ```
    /// use scim_model::filter::CompiledFilter;
    /// use scim_model::schema::SchemaRegistry;
    /// use serde_json::json;
    ///
    /// let registry = SchemaRegistry::standard();
    /// let users = registry.resource_type("User").ok_or("no User type")?;
    /// let filter = scim_filter::parse(r#"emails[type eq "work" and value co "@example.com"]"#)?;
    /// let compiled = CompiledFilter::compile(&filter, users)?;
    ///
    /// assert!(compiled.matches_value(&json!({"type": "WORK", "value": "b@example.com"})));
    /// assert!(!compiled.matches_value(&json!({"type": "home", "value": "b@example.com"})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches_value(&self, element: &Value) -> bool {
        match &self.root {
            Node::Any { attr, filter } => {
                is_assigned(element, attr.attribute()) && filter.eval(Scope::Element(element))
            }
            _ => false,
        }
    }
}

struct Compiler<'r> {
    resource_type: ResourceTypeView<'r>,
}

impl<'r> Compiler<'r> {
    /// `parent` is the attribute of the enclosing value filter, if any.
    fn node(
        &self,
        filter: &Filter,
        parent: Option<ResolvedAttribute<'r>>,
    ) -> Result<Node<'r>, ScimError> {
        Ok(match filter {
            Filter::Compare { path, op, value } => {
                let attr = self.resolve(path, parent)?;
                self.comparison(path, attr, *op, value)?
            }
            Filter::Present(path) => Node::Present(self.resolve(path, parent)?),
            Filter::And(items) => Node::And(self.nodes(items, parent)?),
            Filter::Or(items) => Node::Or(self.nodes(items, parent)?),
            Filter::Not(inner) => Node::Not(Box::new(self.node(inner, parent)?)),
            Filter::ValuePath { attr, filter } => {
                if parent.is_some() {
                    return Err(ScimError::invalid_filter("value filters cannot be nested"));
                }
                let resolved = self.resolve(attr, None)?;
                if !resolved.attribute().is_complex() {
                    return Err(ScimError::invalid_filter(format!(
                        "`{resolved}` is not a complex attribute, so it takes no value filter"
                    )));
                }
                Node::Any {
                    attr: resolved,
                    filter: Box::new(self.node(filter, Some(resolved))?),
                }
            }
        })
    }

    fn nodes(
        &self,
        items: &[Filter],
        parent: Option<ResolvedAttribute<'r>>,
    ) -> Result<Vec<Node<'r>>, ScimError> {
        items.iter().map(|item| self.node(item, parent)).collect()
    }

    fn resolve(
        &self,
        path: &AttrPath,
        parent: Option<ResolvedAttribute<'r>>,
    ) -> Result<ResolvedAttribute<'r>, ScimError> {
        let lookup = match parent {
            None => self.resource_type.resolve(
                path.urn.as_deref(),
                &path.name,
                path.sub_attr.as_deref(),
            ),
            Some(parent) => {
                if path.urn.is_some() || path.sub_attr.is_some() {
                    return Err(ScimError::invalid_filter(format!(
                        "`{path}` inside the value filter of `{parent}` must name one of its sub-attributes"
                    )));
                }
                let urn = parent.extension_urn();
                self.resource_type
                    .resolve(urn, parent.name(), Some(&path.name))
            }
        };
        let resolved = lookup.map_err(|e| ScimError::invalid_filter(e.to_string()))?;
        // A filter on a value that is never returned (`password`) would let a client test it.
        let never = |a: &crate::schema::Attribute| a.returned() == crate::schema::Returned::Never;
        if never(resolved.attribute()) || resolved.sub_attribute().is_some_and(never) {
            return Err(ScimError::invalid_filter(format!(
                "`{resolved}` is never returned, so it cannot be filtered on"
            )));
        }
        Ok(resolved)
    }

    fn comparison(
        &self,
        path: &AttrPath,
        mut attr: ResolvedAttribute<'r>,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Node<'r>, ScimError> {
        let invalid = |why: &str| {
            Err(ScimError::invalid_filter(format!(
                "`{path} {op} {value}`: {why}"
            )))
        };
        if matches!(value, CompValue::Null) {
            return match op {
                CompareOp::Eq => Ok(Node::Not(Box::new(Node::Present(attr)))),
                CompareOp::Ne => Ok(Node::Present(attr)),
                _ => invalid("null can only be compared with eq or ne"),
            };
        }
        if attr.target().is_complex() {
            if op.is_ordering() {
                return invalid("a complex attribute cannot be ordered");
            }
            // `emails co "example.com"` compares the emails' `value` sub-attribute.
            let value_attr =
                self.resource_type
                    .resolve(attr.extension_urn(), attr.name(), Some("value"));
            match value_attr {
                Ok(resolved) if attr.sub_attribute().is_none() => attr = resolved,
                _ => {
                    return invalid(
                        "a complex attribute can only be compared through a sub-attribute",
                    )
                }
            }
        }
        if op == CompareOp::Ne {
            let eq = self.comparison(path, attr, CompareOp::Eq, value)?;
            return Ok(Node::Not(Box::new(eq)));
        }
        let target = attr.target();
        let operand = match (target.attribute_type(), value) {
            (AttributeType::Boolean, CompValue::Bool(b)) if op == CompareOp::Eq => {
                Operand::Bool(*b)
            }
            (AttributeType::Boolean, CompValue::Bool(_)) => {
                return invalid("a boolean can only be compared with eq or ne")
            }
            (AttributeType::Integer | AttributeType::Decimal, CompValue::Number(n)) => {
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return invalid("co, sw and ew apply to strings, not numbers");
                }
                if target.attribute_type() == AttributeType::Integer && n.as_i64().is_none() {
                    return invalid("the attribute is an integer");
                }
                Operand::Number(n.clone())
            }
            (AttributeType::DateTime, CompValue::String(s)) => {
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return invalid("co, sw and ew apply to strings, not dateTimes");
                }
                match parse_date_time(s) {
                    Some(at) => Operand::DateTime(at),
                    None => return invalid("the value is not an xsd:dateTime"),
                }
            }
            (
                AttributeType::String | AttributeType::Reference | AttributeType::Binary,
                CompValue::String(s),
            ) => {
                if target.is_case_exact() {
                    Operand::String(s.clone())
                } else {
                    Operand::String(fold_case(s).into_owned())
                }
            }
            (kind, _) => {
                return invalid(&format!("the attribute is of type {}", kind.as_str()));
            }
        };
        Ok(Node::Compare(Comparison { attr, op, operand }))
    }
}

/// What attribute paths are read from: the whole resource, or one value of a multi-valued
/// complex attribute inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'v> {
    Resource(&'v Value),
    Element(&'v Value),
}

impl Node<'_> {
    fn eval(&self, scope: Scope<'_>) -> bool {
        match self {
            Node::Compare(c) => any_value(scope, &c.attr, |v| compare(v, c)),
            Node::Present(attr) => any_value(scope, attr, |_| true),
            Node::And(items) => items.iter().all(|item| item.eval(scope)),
            Node::Or(items) => items.iter().any(|item| item.eval(scope)),
            Node::Not(inner) => !inner.eval(scope),
            Node::Any { attr, filter } => {
                let Scope::Resource(resource) = scope else {
                    return false;
                };
                let complex = attr.attribute();
                top_level(resource, attr).is_some_and(|v| {
                    values_of(v, complex)
                        .filter(|element| is_assigned(element, complex))
                        .any(|element| filter.eval(Scope::Element(element)))
                })
            }
        }
    }
}

/// The attribute's value in the resource: top-level, or inside its extension's object.
fn top_level<'v>(resource: &'v Value, attr: &ResolvedAttribute<'_>) -> Option<&'v Value> {
    let object = resource.as_object()?;
    let container = match attr.extension_urn() {
        Some(urn) => member(object, urn)?.as_object()?,
        None => object,
    };
    member(container, attr.name())
}

/// Whether `test` holds for some assigned value the attribute reference designates in `scope`.
fn any_value(
    scope: Scope<'_>,
    attr: &ResolvedAttribute<'_>,
    mut test: impl FnMut(&Value) -> bool,
) -> bool {
    let target = attr.target();
    let mut test = move |value: &Value| is_assigned(value, target) && test(value);
    let sub_values = |element: &Value, sub: &str, test: &mut dyn FnMut(&Value) -> bool| {
        element
            .as_object()
            .and_then(|object| member(object, sub))
            .is_some_and(|v| values_of(v, target).any(test))
    };
    match (scope, attr.sub_name()) {
        (Scope::Element(element), Some(sub)) => sub_values(element, sub, &mut test),
        // Inside a value filter every path names a sub-attribute.
        (Scope::Element(_), None) => false,
        (Scope::Resource(resource), sub) => {
            let Some(value) = top_level(resource, attr) else {
                return false;
            };
            match sub {
                None => values_of(value, target).any(test),
                Some(sub) => values_of(value, attr.attribute())
                    .any(|element| sub_values(element, sub, &mut test)),
            }
        }
    }
}

fn compare(value: &Value, comparison: &Comparison<'_>) -> bool {
    use std::cmp::Ordering;
    let ordering_holds = |ordering: Ordering| match comparison.op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    match (&comparison.operand, value) {
        (Operand::Bool(expected), Value::Bool(actual)) => expected == actual,
        (Operand::Number(expected), Value::Number(actual)) => {
            compare_numbers(actual, expected).is_some_and(ordering_holds)
        }
        (Operand::DateTime(expected), Value::String(actual)) => {
            parse_date_time(actual).is_some_and(|actual| ordering_holds(actual.cmp(expected)))
        }
        (Operand::String(expected), Value::String(actual)) => {
            let actual = if comparison.case_insensitive() {
                fold_case(actual)
            } else {
                std::borrow::Cow::Borrowed(actual.as_str())
            };
            match comparison.op {
                CompareOp::Co => actual.contains(expected.as_str()),
                CompareOp::Sw => actual.starts_with(expected.as_str()),
                CompareOp::Ew => actual.ends_with(expected.as_str()),
                _ => ordering_holds(actual.as_ref().cmp(expected.as_str())),
            }
        }
        _ => false,
    }
}
