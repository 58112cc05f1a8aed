//! Turns the pest parse tree into the typed AST. The pest types stay private to this module.

use std::cell::Cell;

use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::error::{ErrorKind, FilterError};

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct Grammar;

/// Limits and leniency for parsing; [`ParseOptions::default`] suits a public server.
///
/// The limits guard against hostile input: the parser and every later walk over the tree
/// recurse once per level of nesting, so the depth is bounded before the grammar runs; and every
/// later evaluation (in memory, or as SQL with one bound parameter per comparison) costs per
/// node, so the node count is bounded as the tree is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Longest accepted input, in characters. Default 16 384.
    pub max_length: usize,
    /// Deepest accepted nesting of parentheses and brackets. Default 64.
    pub max_depth: usize,
    /// Most nodes in the tree: each comparison, `pr`, `and`, `or`, `not` and value filter
    /// counts one (`a eq 1 and b pr` is three). Default 1 000.
    pub max_nodes: usize,
    /// Accept an unquoted word as a string value (`externalId eq jyoung`, as in Microsoft's
    /// Entra ID documentation). Words that read as `true`, `false`, `null` or a number keep
    /// that meaning, and anything else that could be ambiguous is still rejected. Default off.
    pub allow_unquoted_values: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_length: 16 * 1024,
            max_depth: 64,
            max_nodes: 1000,
            allow_unquoted_values: false,
        }
    }
}

impl ParseOptions {
    /// Parses a filter (RFC 7644 §3.4.2.2).
    ///
    /// # Errors
    /// A [`FilterError`] saying what was expected at which character, or which limit was passed.
    pub fn parse(&self, input: &str) -> Result<Filter, FilterError> {
        self.check_limits(input)?;
        let mut pairs =
            Grammar::parse(Rule::filter_input, input).map_err(|e| syntax_error(input, &e))?;
        let top = next_child(&mut pairs, input)?;
        let or_expr = next_child(&mut top.into_inner(), input)?;
        Builder::new(input, self).or_expr(or_expr, false)
    }

    /// Parses a PATCH operation path (RFC 7644 §3.5.2).
    ///
    /// # Errors
    /// A [`FilterError`] saying what was expected at which character, or which limit was passed.
    pub fn parse_path(&self, input: &str) -> Result<PatchPath, FilterError> {
        self.check_limits(input)?;
        let mut pairs =
            Grammar::parse(Rule::path_input, input).map_err(|e| syntax_error(input, &e))?;
        let top = next_child(&mut pairs, input)?;
        let path = next_child(&mut top.into_inner(), input)?;
        Builder::new(input, self).patch_path(path)
    }

    fn check_limits(&self, input: &str) -> Result<(), FilterError> {
        let length = input.chars().count();
        if length > self.max_length {
            return Err(FilterError::new(
                ErrorKind::TooLong {
                    length,
                    max: self.max_length,
                },
                input,
                0,
            ));
        }
        if input.trim().is_empty() {
            return Err(FilterError::new(ErrorKind::Empty, input, 0));
        }
        // A linear scan, so that nesting is refused before anything recursive sees it.
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (offset, c) in input.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '(' | '[' => {
                    depth += 1;
                    if depth > self.max_depth {
                        return Err(FilterError::new(
                            ErrorKind::TooDeep {
                                max: self.max_depth,
                            },
                            input,
                            offset,
                        ));
                    }
                }
                ')' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }
}

struct Builder<'i, 'o> {
    input: &'i str,
    options: &'o ParseOptions,
    /// Nodes built so far, against [`ParseOptions::max_nodes`].
    nodes: Cell<usize>,
}

impl<'i, 'o> Builder<'i, 'o> {
    fn new(input: &'i str, options: &'o ParseOptions) -> Self {
        Builder {
            input,
            options,
            nodes: Cell::new(0),
        }
    }
}

impl Builder<'_, '_> {
    fn error(&self, kind: ErrorKind, pair: &Pair<'_, Rule>) -> FilterError {
        FilterError::new(kind, self.input, pair.as_span().start())
    }

    /// Counts one node of the tree, built from `pair`.
    fn node(&self, pair: &Pair<'_, Rule>) -> Result<(), FilterError> {
        let nodes = self.nodes.get() + 1;
        self.nodes.set(nodes);
        if nodes > self.options.max_nodes {
            return Err(self.error(
                ErrorKind::TooManyNodes {
                    max: self.options.max_nodes,
                },
                pair,
            ));
        }
        Ok(())
    }

    fn or_expr(&self, pair: Pair<'_, Rule>, in_value: bool) -> Result<Filter, FilterError> {
        if pair.clone().into_inner().nth(1).is_some() {
            self.node(&pair)?;
        }
        let mut items = pair
            .into_inner()
            .map(|and| self.and_expr(self.operand(and)?, in_value))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::Or(items)
        })
    }

    fn and_expr(&self, pair: Pair<'_, Rule>, in_value: bool) -> Result<Filter, FilterError> {
        if pair.clone().into_inner().nth(1).is_some() {
            self.node(&pair)?;
        }
        let mut items = pair
            .into_inner()
            .map(|unary| self.unary(self.operand(unary)?, in_value))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::And(items)
        })
    }

    /// Unwraps the right-hand side of `and`/`or`; the first operand comes unwrapped.
    fn operand<'i>(&self, pair: Pair<'i, Rule>) -> Result<Pair<'i, Rule>, FilterError> {
        match pair.as_rule() {
            Rule::and_rhs | Rule::or_rhs => self.only_child(pair),
            _ => Ok(pair),
        }
    }

    fn unary(&self, pair: Pair<'_, Rule>, in_value: bool) -> Result<Filter, FilterError> {
        match pair.as_rule() {
            Rule::not_expr => {
                self.node(&pair)?;
                let inner = self.only_child(pair)?;
                Ok(Filter::Not(Box::new(self.or_expr(inner, in_value)?)))
            }
            Rule::group => {
                let inner = self.only_child(pair)?;
                self.or_expr(inner, in_value)
            }
            Rule::attr_expr => {
                let mut inner = pair.into_inner();
                let path = self.attr_path(next_child(&mut inner, self.input)?)?;
                let condition = next_child(&mut inner, self.input)?;
                self.condition(path, self.only_child(condition)?)
            }
            Rule::value_path_expr => {
                if in_value {
                    return Err(self.error(ErrorKind::NestedValueFilter, &pair));
                }
                self.node(&pair)?;
                let mut inner = pair.into_inner();
                let attr_pair = next_child(&mut inner, self.input)?;
                let attr = self.filterable_attr(attr_pair)?;
                let mut filter = self.or_expr(next_child(&mut inner, self.input)?, true)?;
                if let Some(tail) = inner.find(|p| p.as_rule() == Rule::value_path_tail) {
                    // `emails[type eq "work"].value eq "x"` means one email that is of type
                    // work and has that value, so it folds into the bracketed condition.
                    let tail_pair = tail.clone();
                    let mut tail = tail.into_inner();
                    let sub = next_child(&mut tail, self.input)?.as_str().to_owned();
                    let condition = next_child(&mut tail, self.input)?;
                    let condition =
                        self.condition(AttrPath::new(sub), self.only_child(condition)?)?;
                    filter = match filter {
                        Filter::And(mut items) => {
                            items.push(condition);
                            Filter::And(items)
                        }
                        other => {
                            self.node(&tail_pair)?;
                            Filter::And(vec![other, condition])
                        }
                    };
                }
                Ok(Filter::ValuePath {
                    attr,
                    filter: Box::new(filter),
                })
            }
            _ => Err(self.unexpected(&pair)),
        }
    }

    /// Builds `path pr` or `path op value` from a `present` or `comparison` node.
    fn condition(&self, path: AttrPath, pair: Pair<'_, Rule>) -> Result<Filter, FilterError> {
        self.node(&pair)?;
        match pair.as_rule() {
            Rule::present => Ok(Filter::Present(path)),
            Rule::comparison => {
                let mut inner = pair.into_inner();
                let op_pair = next_child(&mut inner, self.input)?;
                let op = CompareOp::from_keyword(op_pair.as_str())
                    .ok_or_else(|| self.unexpected(&op_pair))?;
                let operand = next_child(&mut inner, self.input)?;
                let value = self.comp_value(self.only_child(operand)?)?;
                Ok(Filter::Compare { path, op, value })
            }
            _ => Err(self.unexpected(&pair)),
        }
    }

    fn comp_value(&self, pair: Pair<'_, Rule>) -> Result<CompValue, FilterError> {
        match pair.as_rule() {
            Rule::null_lit => Ok(CompValue::Null),
            Rule::true_lit => Ok(CompValue::Bool(true)),
            Rule::false_lit => Ok(CompValue::Bool(false)),
            Rule::number => serde_json::from_str(pair.as_str())
                .map(CompValue::Number)
                .map_err(|_| self.error(ErrorKind::InvalidNumber, &pair)),
            Rule::string => {
                let text: String = serde_json::from_str(pair.as_str())
                    .map_err(|e| self.error(ErrorKind::InvalidString(e.to_string()), &pair))?;
                self.string_value(text, &pair)
            }
            Rule::bare_value if self.options.allow_unquoted_values => {
                self.string_value(pair.as_str().to_owned(), &pair)
            }
            Rule::bare_value => Err(self.error(ErrorKind::UnquotedValue, &pair)),
            _ => Err(self.unexpected(&pair)),
        }
    }

    /// A string literal, refused when it holds U+0000: no SCIM value can hold NUL (a SCIM
    /// server's store may not be able to, PostgreSQL's `text` for one), so such a comparison
    /// could only ever be a mistake or a probe; refusing it here keeps it out of every later
    /// stage, SQL included.
    fn string_value(&self, text: String, pair: &Pair<'_, Rule>) -> Result<CompValue, FilterError> {
        if text.contains('\0') {
            return Err(self.error(ErrorKind::NulInString, pair));
        }
        Ok(CompValue::String(text))
    }

    fn attr_path(&self, pair: Pair<'_, Rule>) -> Result<AttrPath, FilterError> {
        let mut path = AttrPath::new(String::new());
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::urn_prefix => {
                    let urn = part.as_str();
                    path.urn = Some(urn.strip_suffix(':').unwrap_or(urn).to_owned());
                }
                Rule::attr_name if path.name.is_empty() => path.name = part.as_str().to_owned(),
                Rule::attr_name => path.sub_attr = Some(part.as_str().to_owned()),
                _ => return Err(self.unexpected(&part)),
            }
        }
        Ok(path)
    }

    /// An attribute that a value filter may follow: no sub-attribute.
    fn filterable_attr(&self, pair: Pair<'_, Rule>) -> Result<AttrPath, FilterError> {
        let span_pair = pair.clone();
        let attr = self.attr_path(pair)?;
        if attr.sub_attr.is_some() {
            return Err(self.error(ErrorKind::FilterOnSubAttribute, &span_pair));
        }
        Ok(attr)
    }

    fn patch_path(&self, pair: Pair<'_, Rule>) -> Result<PatchPath, FilterError> {
        let mut inner = pair.into_inner();
        let attr_pair = next_child(&mut inner, self.input)?;
        let Some(filter_pair) = inner.next() else {
            return Ok(PatchPath::Attr(self.attr_path(attr_pair)?));
        };
        let attr = self.filterable_attr(attr_pair)?;
        let filter = self.or_expr(filter_pair, true)?;
        let sub_attr = inner
            .find(|p| p.as_rule() == Rule::attr_name)
            .map(|sub| sub.as_str().to_owned());
        Ok(PatchPath::Filtered {
            attr,
            filter,
            sub_attr,
        })
    }

    fn only_child<'i>(&self, pair: Pair<'i, Rule>) -> Result<Pair<'i, Rule>, FilterError> {
        let span_pair = pair.clone();
        pair.into_inner()
            .next()
            .ok_or_else(|| self.unexpected(&span_pair))
    }

    /// A parse tree the grammar cannot produce; reported rather than panicking.
    fn unexpected(&self, pair: &Pair<'_, Rule>) -> FilterError {
        self.error(
            ErrorKind::Syntax {
                expected: format!("something other than {:?}", pair.as_rule()),
            },
            pair,
        )
    }
}

fn next_child<'i>(
    pairs: &mut pest::iterators::Pairs<'i, Rule>,
    input: &str,
) -> Result<Pair<'i, Rule>, FilterError> {
    pairs.next().ok_or_else(|| {
        FilterError::new(
            ErrorKind::Syntax {
                expected: "more input".to_owned(),
            },
            input,
            input.len(),
        )
    })
}

fn syntax_error(input: &str, error: &pest::error::Error<Rule>) -> FilterError {
    let offset = match error.location {
        pest::error::InputLocation::Pos(pos) => pos,
        pest::error::InputLocation::Span((start, _)) => start,
    };
    let mut expected: Vec<&str> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            let words = describe(*rule);
            if !expected.contains(&words) {
                expected.push(words);
            }
        }
    }
    let expected = match expected.as_slice() {
        [] => "a valid expression".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    };
    FilterError::new(ErrorKind::Syntax { expected }, input, offset)
}

fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::attr_path | Rule::attr_name | Rule::urn_prefix => "an attribute name",
        Rule::condition | Rule::present | Rule::comparison | Rule::compare_op => {
            "an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr)"
        }
        Rule::operand
        | Rule::null_lit
        | Rule::true_lit
        | Rule::false_lit
        | Rule::number
        | Rule::string
        | Rule::bare_value
        | Rule::escape => "a value (a quoted string, a number, true, false or null)",
        Rule::or_rhs | Rule::and_rhs => "a filter expression",
        Rule::close_paren => "\")\"",
        Rule::close_bracket => "\"]\"",
        Rule::EOI => "the end of the expression, \"and\" or \"or\"",
        Rule::value_path_tail => "\".\" and a sub-attribute",
        _ => "a filter expression",
    }
}
