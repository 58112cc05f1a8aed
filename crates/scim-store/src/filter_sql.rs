//! Filter → SQL: a [`CompiledFilter`] translated into a condition over the `users` table.
//!
//! The condition reads the row's `search` document (see `scim_model::search`), where case
//! folding, dateTime normalisation and the pruning of unassigned values are already done, so
//! plain text equality, containment and ordering give the in-memory evaluator's answers; the
//! differential tests check that on generated users and filters, on both backends. No `LIKE`
//! is used, so `%`, `_` and `\` in values are ordinary characters.
//!
//! The lookups identity providers make all day use indexed columns instead: `userName eq`
//! (`user_name_key`), `externalId eq`, `id eq`, `emails.value eq` (the `user_emails` table), and
//! `meta.created` / `meta.lastModified` (microsecond columns).
//!
//! Every condition produced is TRUE or FALSE, never NULL, so `NOT` means what it says.

use scim_filter::CompareOp;
use scim_model::filter::{Comparison, CompiledFilter, Node, Operand};
use scim_model::schema::{AttributeType, ResolvedAttribute};

use crate::dialect::{Dialect, SqlFragment};
use crate::OrgId;

/// Where a JSON value sits: at a path of the row's search document, or in the array element a
/// value filter is looking at (`None`: the element itself, for simple multi-valued attributes).
#[derive(Clone)]
enum Loc {
    Row(Vec<String>),
    Element(Option<String>),
}

/// Translates filters and sort keys for the `users` table in one dialect.
#[derive(Debug, Clone)]
pub struct UserFilterSql {
    dialect: Dialect,
    org: OrgId,
    location_prefix: Option<String>,
}

impl UserFilterSql {
    /// A translator for `dialect` and the listing of `org`'s users (side tables are searched
    /// for that organisation alone, so their indexes drive the lookup). `location_prefix` is
    /// what `meta.location` starts with, the public URL of the Users endpoint followed by `/`
    /// (e.g. `https://h/scim/v2/Users/`); without it, `meta.location` is treated as unassigned.
    pub fn new(dialect: Dialect, org: OrgId, location_prefix: Option<String>) -> Self {
        UserFilterSql {
            dialect,
            org,
            location_prefix,
        }
    }

    /// The SQL condition for `filter`.
    pub fn condition(&self, filter: &CompiledFilter<'_>) -> SqlFragment {
        let mut out = SqlFragment::new();
        self.node(filter.root(), false, &mut out);
        out
    }

    fn node(&self, node: &Node<'_>, in_element: bool, out: &mut SqlFragment) {
        match node {
            Node::And(items) | Node::Or(items) => {
                let joiner = if matches!(node, Node::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                out.push_sql("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(joiner);
                    }
                    self.node(item, in_element, out);
                }
                out.push_sql(")");
            }
            Node::Not(inner) => {
                out.push_sql("(NOT ");
                self.node(inner, in_element, out);
                out.push_sql(")");
            }
            Node::Any { attr, filter } => {
                self.each_element(&row_path(attr, false), out, |this, out| {
                    this.node(filter, true, out);
                });
            }
            Node::Present(attr) => {
                if !in_element && self.column_condition(attr, None, out) {
                    return;
                }
                self.at_values(attr, in_element, out, |this, loc, out| {
                    this.exists(loc, out)
                });
            }
            Node::Compare(comparison) => {
                if !in_element && self.column_condition(&comparison.attr, Some(comparison), out) {
                    return;
                }
                self.at_values(&comparison.attr, in_element, out, |this, loc, out| {
                    this.compare(loc, comparison, out);
                });
            }
        }
    }

    /// Runs `predicate` on every value `attr` designates: inside the current element, at a
    /// path of the row, or on each element of a multi-valued attribute of the row.
    fn at_values(
        &self,
        attr: &ResolvedAttribute<'_>,
        in_element: bool,
        out: &mut SqlFragment,
        predicate: impl Fn(&Self, &Loc, &mut SqlFragment),
    ) {
        if in_element {
            let loc = Loc::Element(attr.sub_name().map(str::to_owned));
            predicate(self, &loc, out);
        } else if attr.attribute().is_multi_valued() {
            let sub = attr.sub_name().map(str::to_owned);
            self.each_element(&row_path(attr, false), out, |this, out| {
                predicate(this, &Loc::Element(sub.clone()), out);
            });
        } else {
            predicate(self, &Loc::Row(row_path(attr, true)), out);
        }
    }

    /// `EXISTS (… each element of the array at path … WHERE body)`.
    fn each_element(
        &self,
        path: &[String],
        out: &mut SqlFragment,
        body: impl FnOnce(&Self, &mut SqlFragment),
    ) {
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
                pg_value(path, out);
                out.push_sql(") = 'array' THEN ");
                pg_value(path, out);
                out.push_sql(" ELSE '[]'::jsonb END) AS e(v) WHERE ");
            }
            Dialect::Sqlite => {
                out.push_sql("EXISTS (SELECT 1 FROM json_each(users.search, ")
                    .push_bind(sqlite_path(path))
                    .push_sql(") AS e WHERE e.type IN ('object', 'text', 'integer', 'real', 'true', 'false') AND ");
            }
        }
        body(self, out);
        out.push_sql(")");
    }

    /// The JSON value at `loc`, as the dialect's JSON type (PostgreSQL only).
    fn pg_json(loc: &Loc, out: &mut SqlFragment) {
        match loc {
            Loc::Row(path) => pg_value(path, out),
            Loc::Element(None) => {
                out.push_sql("e.v");
            }
            Loc::Element(Some(sub)) => {
                out.push_sql("(e.v -> ")
                    .push_bind(sub.as_str())
                    .push_sql(")");
            }
        }
    }

    /// SQLite: `json_type(...)` of the value at `loc`.
    fn sqlite_type(loc: &Loc, out: &mut SqlFragment) {
        Self::sqlite_json("json_type", "e.type", loc, out);
    }

    /// SQLite: the SQL value (text, number) at `loc`.
    fn sqlite_value(loc: &Loc, out: &mut SqlFragment) {
        Self::sqlite_json("json_extract", "e.value", loc, out);
    }

    /// SQLite: `function(document, path)` for the value at `loc`; `element` is the column of
    /// `json_each` that gives the same for the element itself.
    fn sqlite_json(function: &str, element: &str, loc: &Loc, out: &mut SqlFragment) {
        match loc {
            Loc::Row(path) => {
                out.push_sql(function)
                    .push_sql("(users.search, ")
                    .push_bind(sqlite_path(path))
                    .push_sql(")");
            }
            Loc::Element(None) => {
                out.push_sql(element);
            }
            Loc::Element(Some(sub)) => {
                out.push_sql(function)
                    .push_sql("(e.value, ")
                    .push_bind(sqlite_path(std::slice::from_ref(sub)))
                    .push_sql(")");
            }
        }
    }

    fn exists(&self, loc: &Loc, out: &mut SqlFragment) {
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql("(");
                Self::pg_json(loc, out);
                out.push_sql(" IS NOT NULL)");
            }
            Dialect::Sqlite => {
                out.push_sql("(");
                Self::sqlite_type(loc, out);
                out.push_sql(" IS NOT NULL)");
            }
        }
    }

    /// `type check AND value op operand`, always TRUE or FALSE.
    fn compare(&self, loc: &Loc, comparison: &Comparison<'_>, out: &mut SqlFragment) {
        let op = comparison.op;
        out.push_sql("(");
        match (&comparison.operand, self.dialect) {
            (Operand::Bool(b), Dialect::Postgres) => {
                out.push_sql("COALESCE(");
                Self::pg_json(loc, out);
                out.push_sql(if *b {
                    " = 'true'::jsonb"
                } else {
                    " = 'false'::jsonb"
                });
                out.push_sql(", FALSE)");
            }
            (Operand::Bool(b), Dialect::Sqlite) => {
                out.push_sql("COALESCE(");
                Self::sqlite_type(loc, out);
                out.push_sql(if *b { " = 'true'" } else { " = 'false'" });
                out.push_sql(", 0)");
            }
            (Operand::Number(n), dialect) => {
                let number: crate::dialect::BindValue = match n.as_i64() {
                    Some(i) => i.into(),
                    None => n.as_f64().unwrap_or(f64::NAN).into(),
                };
                match dialect {
                    Dialect::Postgres => {
                        out.push_sql("COALESCE(jsonb_typeof(");
                        Self::pg_json(loc, out);
                        out.push_sql(") = 'number' AND CAST(");
                        Self::pg_json(loc, out);
                        out.push_sql(" #>> '{}' AS numeric) ");
                    }
                    Dialect::Sqlite => {
                        out.push_sql("COALESCE(");
                        Self::sqlite_type(loc, out);
                        out.push_sql(" IN ('integer', 'real') AND ");
                        Self::sqlite_value(loc, out);
                        out.push_sql(" ");
                    }
                }
                out.push_sql(ordering_sql(op))
                    .push_sql(" ")
                    .push_bind(number);
                out.push_sql(", FALSE)");
            }
            (Operand::String(text), _) => self.compare_text(loc, op, text, out),
            (Operand::DateTime(at), _) => {
                let text = scim_model::value::sortable_date_time(at);
                self.compare_text(loc, op, &text, out);
            }
        }
        out.push_sql(")");
    }

    fn compare_text(&self, loc: &Loc, op: CompareOp, text: &str, out: &mut SqlFragment) {
        let value = |out: &mut SqlFragment| match self.dialect {
            Dialect::Postgres => {
                out.push_sql("(");
                Self::pg_json(loc, out);
                out.push_sql(" #>> '{}')");
            }
            Dialect::Sqlite => Self::sqlite_value(loc, out),
        };
        out.push_sql("COALESCE(");
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql("jsonb_typeof(");
                Self::pg_json(loc, out);
                out.push_sql(") = 'string'");
            }
            Dialect::Sqlite => {
                Self::sqlite_type(loc, out);
                out.push_sql(" = 'text'");
            }
        }
        // Every string contains, starts and ends with the empty string.
        let trivially_true =
            text.is_empty() && matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        if !trivially_true {
            out.push_sql(" AND ");
            text_predicate(self.dialect, op, text, value, out);
        }
        out.push_sql(", FALSE)");
    }

    /// Conditions on dedicated columns; returns false when `attr` has none.
    fn column_condition(
        &self,
        attr: &ResolvedAttribute<'_>,
        comparison: Option<&Comparison<'_>>,
        out: &mut SqlFragment,
    ) -> bool {
        if attr.extension_urn().is_some() {
            return false;
        }
        let name = attr.name();
        let sub = attr.sub_name();
        // `IS NOT NULL` keeps the condition TRUE or FALSE on a nullable column (externalId)
        // while leaving a plain equality the planner can serve from the column's index.
        let text_column = |out: &mut SqlFragment, column: &str, text: &str| {
            out.push_sql("(")
                .push_sql(column)
                .push_sql(" IS NOT NULL AND ")
                .push_sql(column)
                .push_sql(" = ")
                .push_bind(text)
                .push_sql(")");
        };
        match (name, sub, comparison) {
            // An empty string is unassigned (never matched), which the columns cannot tell.
            ("userName", None, Some(c)) if c.op == CompareOp::Eq => match &c.operand {
                Operand::String(text) if !text.is_empty() => {
                    text_column(out, "users.user_name_key", text);
                    true
                }
                _ => false,
            },
            ("externalId", None, Some(c)) if c.op == CompareOp::Eq => match &c.operand {
                Operand::String(text) if !text.is_empty() => {
                    text_column(out, "users.external_id", text);
                    true
                }
                _ => false,
            },
            ("emails", Some("value"), Some(c)) if c.op == CompareOp::Eq => match &c.operand {
                Operand::String(text) if !text.is_empty() => {
                    // Uncorrelated, so the (org_id, value_key) index finds the few users first.
                    out.push_sql(
                        "users.id IN (SELECT ue.user_id FROM user_emails ue WHERE ue.org_id = ",
                    )
                    .push_bind(self.org.0)
                    .push_sql(" AND ue.value_key = ")
                    .push_bind(text.as_str())
                    .push_sql(")");
                    true
                }
                _ => false,
            },
            ("id", None, None) => {
                out.push_sql("(1 = 1)");
                true
            }
            ("id", None, Some(c)) => {
                match &c.operand {
                    Operand::String(text) => {
                        let value = |out: &mut SqlFragment| {
                            out.push_sql("users.id");
                        };
                        out.push_sql("(");
                        text_predicate(self.dialect, c.op, text, value, out);
                        out.push_sql(")");
                    }
                    _ => {
                        out.push_sql("(1 = 0)");
                    }
                }
                true
            }
            ("meta", Some(field @ ("created" | "lastModified")), comparison) => {
                let column = if field == "created" {
                    "users.created_at"
                } else {
                    "users.last_modified"
                };
                match comparison.map(|c| (c.op, &c.operand)) {
                    None => {
                        out.push_sql("(1 = 1)");
                    }
                    Some((op, Operand::DateTime(at))) => {
                        let micros = at.timestamp_micros();
                        // Stored times are whole microseconds; a finer operand needs care so
                        // that `eq` stays exact and the orderings stay right.
                        let exact = at.timestamp_subsec_nanos() % 1_000 == 0;
                        match (op, exact) {
                            (CompareOp::Eq, false) => {
                                out.push_sql("(1 = 0)");
                            }
                            (CompareOp::Gt | CompareOp::Ge, false) => {
                                out.push_sql("(")
                                    .push_sql(column)
                                    .push_sql(" > ")
                                    .push_bind(micros)
                                    .push_sql(")");
                            }
                            (CompareOp::Lt | CompareOp::Le, false) => {
                                out.push_sql("(")
                                    .push_sql(column)
                                    .push_sql(" <= ")
                                    .push_bind(micros)
                                    .push_sql(")");
                            }
                            (op, _) => {
                                out.push_sql("(")
                                    .push_sql(column)
                                    .push_sql(" ")
                                    .push_sql(ordering_sql(op))
                                    .push_sql(" ")
                                    .push_bind(micros)
                                    .push_sql(")");
                            }
                        }
                    }
                    Some(_) => {
                        out.push_sql("(1 = 0)");
                    }
                }
                true
            }
            ("meta", Some("resourceType"), comparison) => {
                let holds = match comparison.map(|c| (c.op, &c.operand)) {
                    None => true,
                    Some((op, Operand::String(text))) => {
                        let folded = if c_case_exact(attr) {
                            "User".to_owned()
                        } else {
                            scim_model::value::fold_case("User").into_owned()
                        };
                        text_holds(op, &folded, text)
                    }
                    Some(_) => false,
                };
                out.push_sql(if holds { "(1 = 1)" } else { "(1 = 0)" });
                true
            }
            ("meta", Some("version"), comparison) => {
                match comparison.map(|c| (c.op, &c.operand)) {
                    None => {
                        out.push_sql("(1 = 1)");
                    }
                    Some((op, Operand::String(text))) => {
                        let value = |out: &mut SqlFragment| {
                            out.push_sql("('W/\"' || CAST(users.version AS TEXT) || '\"')");
                        };
                        out.push_sql("(");
                        text_predicate(self.dialect, op, text, value, out);
                        out.push_sql(")");
                    }
                    Some(_) => {
                        out.push_sql("(1 = 0)");
                    }
                }
                true
            }
            ("meta", Some("location"), comparison) => {
                match (
                    &self.location_prefix,
                    comparison.map(|c| (c.op, &c.operand)),
                ) {
                    (None, _)
                    | (
                        Some(_),
                        Some((_, Operand::Bool(_) | Operand::Number(_) | Operand::DateTime(_))),
                    ) => {
                        out.push_sql("(1 = 0)");
                    }
                    (Some(_), None) => {
                        out.push_sql("(1 = 1)");
                    }
                    (Some(prefix), Some((op, Operand::String(text)))) => {
                        let prefix = prefix.clone();
                        let value = move |out: &mut SqlFragment| {
                            out.push_sql("(")
                                .push_bind(prefix.as_str())
                                .push_sql(" || users.id)");
                        };
                        out.push_sql("(");
                        text_predicate(self.dialect, op, text, value, out);
                        out.push_sql(")");
                    }
                }
                true
            }
            ("meta", None, None) => {
                out.push_sql("(1 = 1)");
                true
            }
            _ => false,
        }
    }

    /// The `ORDER BY` terms for `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3), before the listing's
    /// own tie-breakers. Unassigned values sort last in ascending order and first in descending
    /// order, on both backends. A multi-valued attribute sorts by its primary value, else its
    /// first; strings sort by their search-document form, so case-insensitively unless the
    /// attribute is `caseExact`.
    pub fn order_by(&self, attr: &ResolvedAttribute<'_>, descending: bool) -> SqlFragment {
        let mut out = self.sort_key(attr);
        out.push_sql(if descending {
            " DESC NULLS FIRST"
        } else {
            " ASC NULLS LAST"
        });
        out
    }

    fn sort_key(&self, attr: &ResolvedAttribute<'_>) -> SqlFragment {
        if attr.extension_urn().is_none() {
            match (attr.name(), attr.sub_name()) {
                ("id", None) => return SqlFragment::sql("users.id"),
                // The folded userName, as in the search document, without parsing JSON.
                ("userName", None) => {
                    return SqlFragment::sql(match self.dialect {
                        // An empty userName is unassigned, as in the search document.
                        Dialect::Postgres => "NULLIF(users.user_name_key, '') COLLATE \"C\"",
                        Dialect::Sqlite => "NULLIF(users.user_name_key, '')",
                    });
                }
                ("meta", Some("created")) => return SqlFragment::sql("users.created_at"),
                ("meta", Some("lastModified")) => return SqlFragment::sql("users.last_modified"),
                ("meta", Some("version")) => return SqlFragment::sql("users.version"),
                _ => {}
            }
        }
        let mut out = SqlFragment::new();
        let numeric = matches!(
            attr.target().attribute_type(),
            AttributeType::Integer | AttributeType::Decimal
        );
        let attribute = attr.attribute();
        if !attribute.is_multi_valued() {
            let loc = Loc::Row(row_path(attr, true));
            self.scalar_sort_value(&loc, numeric, &mut out);
            return out;
        }
        // The primary value if there is one, else the first.
        let sub = match attr.sub_name() {
            Some(sub) => Some(sub.to_owned()),
            None if attribute.is_complex() => Some("value".to_owned()),
            None => None,
        };
        let path = row_path(attr, false);
        let has_primary = attribute.sub_attribute("primary").is_some();
        out.push_sql("COALESCE(");
        if has_primary {
            out.push_sql("(SELECT ");
            self.scalar_sort_value(&Loc::Element(sub.clone()), numeric, &mut out);
            match self.dialect {
                Dialect::Postgres => {
                    out.push_sql(" FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
                    pg_value(&path, &mut out);
                    out.push_sql(") = 'array' THEN ");
                    pg_value(&path, &mut out);
                    out.push_sql(" ELSE '[]'::jsonb END) AS e(v) WHERE (e.v -> 'primary') = 'true'::jsonb LIMIT 1), ");
                }
                Dialect::Sqlite => {
                    out.push_sql(" FROM json_each(users.search, ")
                        .push_bind(sqlite_path(&path))
                        .push_sql(
                            ") AS e WHERE json_type(e.value, '$.primary') = 'true' LIMIT 1), ",
                        );
                }
            }
        }
        out.push_sql("(SELECT ");
        self.scalar_sort_value(&Loc::Element(sub), numeric, &mut out);
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql(" FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
                pg_value(&path, &mut out);
                out.push_sql(") = 'array' THEN ");
                pg_value(&path, &mut out);
                out.push_sql(
                    " ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, n) ORDER BY e.n LIMIT 1))",
                );
            }
            Dialect::Sqlite => {
                out.push_sql(" FROM json_each(users.search, ")
                    .push_bind(sqlite_path(&path))
                    .push_sql(") AS e ORDER BY e.key LIMIT 1))");
            }
        }
        out
    }

    /// A sortable SQL value for the JSON at `loc`: a number for numeric attributes, else text
    /// ordered by code point.
    fn scalar_sort_value(&self, loc: &Loc, numeric: bool, out: &mut SqlFragment) {
        match (self.dialect, numeric) {
            (Dialect::Postgres, true) => {
                out.push_sql("CASE WHEN jsonb_typeof(");
                Self::pg_json(loc, out);
                out.push_sql(") = 'number' THEN CAST(");
                Self::pg_json(loc, out);
                out.push_sql(" #>> '{}' AS numeric) END");
            }
            (Dialect::Postgres, false) => {
                out.push_sql("((");
                Self::pg_json(loc, out);
                out.push_sql(" #>> '{}') COLLATE \"C\")");
            }
            (Dialect::Sqlite, _) => Self::sqlite_value(loc, out),
        }
    }
}

fn c_case_exact(attr: &ResolvedAttribute<'_>) -> bool {
    attr.target().is_case_exact()
}

/// How a string comparison holds in Rust, for values the SQL does not store.
fn text_holds(op: CompareOp, actual: &str, expected: &str) -> bool {
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        CompareOp::Gt => actual > expected,
        CompareOp::Ge => actual >= expected,
        CompareOp::Lt => actual < expected,
        CompareOp::Le => actual <= expected,
    }
}

/// `value op text` for strings, by code point, without `LIKE`.
fn text_predicate(
    dialect: Dialect,
    op: CompareOp,
    text: &str,
    value: impl Fn(&mut SqlFragment),
    out: &mut SqlFragment,
) {
    let collate = match dialect {
        Dialect::Postgres => " COLLATE \"C\"",
        Dialect::Sqlite => "",
    };
    match op {
        CompareOp::Co if text.is_empty() => {
            out.push_sql("1 = 1");
        }
        CompareOp::Sw | CompareOp::Ew if text.is_empty() => {
            out.push_sql("1 = 1");
        }
        CompareOp::Co => {
            match dialect {
                Dialect::Postgres => out.push_sql("strpos("),
                Dialect::Sqlite => out.push_sql("instr("),
            };
            value(out);
            out.push_sql(", ").push_bind(text).push_sql(") > 0");
        }
        CompareOp::Sw => {
            out.push_sql("substr(");
            value(out);
            out.push_sql(", 1, CAST(")
                .push_bind(text_len(text))
                .push_sql(" AS INTEGER)) = ")
                .push_bind(text);
        }
        CompareOp::Ew => {
            // substr with a start before the string's first character would shorten the
            // result, so the length is checked first.
            out.push_sql("length(");
            value(out);
            out.push_sql(") >= ")
                .push_bind(text_len(text))
                .push_sql(" AND substr(");
            value(out);
            out.push_sql(", length(");
            value(out);
            out.push_sql(") - CAST(")
                .push_bind(text_len(text) - 1)
                .push_sql(" AS INTEGER)) = ")
                .push_bind(text);
        }
        op => {
            value(out);
            out.push_sql(collate)
                .push_sql(" ")
                .push_sql(ordering_sql(op))
                .push_sql(" ")
                .push_bind(text);
        }
    }
}

fn text_len(text: &str) -> i64 {
    i64::try_from(text.chars().count()).unwrap_or(i64::MAX)
}

fn ordering_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        // Containment operators never reach an ordering.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// The search-document path of `attr`: `[urn,] name [, sub]`. For a multi-valued attribute the
/// sub-attribute is read from each element, so it is left out unless `with_sub`.
fn row_path(attr: &ResolvedAttribute<'_>, with_sub: bool) -> Vec<String> {
    let mut path = Vec::with_capacity(3);
    if let Some(urn) = attr.extension_urn() {
        path.push(urn.to_owned());
    }
    path.push(attr.name().to_owned());
    if with_sub {
        if let Some(sub) = attr.sub_name() {
            path.push(sub.to_owned());
        }
    }
    path
}

/// PostgreSQL: `jsonb_extract_path(search_jsonb, 'a', 'b')`, each segment bound;
/// `search_jsonb` is the search document kept parsed by a generated column.
fn pg_value(path: &[String], out: &mut SqlFragment) {
    out.push_sql("jsonb_extract_path(users.search_jsonb");
    for segment in path {
        out.push_sql(", ").push_bind(segment.as_str());
    }
    out.push_sql(")");
}

/// SQLite JSON path `$."a"."b"`; attribute names never hold `"` (RFC 7643 §2.1 ATTRNAME).
fn sqlite_path(path: &[String]) -> String {
    let mut json_path = String::from("$");
    for segment in path {
        json_path.push_str(".\"");
        json_path.push_str(segment);
        json_path.push('"');
    }
    json_path
}
