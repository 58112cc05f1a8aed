//! Filter → SQL: a [`CompiledFilter`] translated into a condition over one resource kind's
//! table (see [`ResourceKind`]).
//!
//! The condition reads the row's `search` document (see `scim_model::search`), where case
//! folding, dateTime normalisation and the pruning of unassigned values are already done, so
//! plain text equality, containment and ordering give the in-memory evaluator's answers; the
//! differential tests check that on generated users and filters, on both backends. No `LIKE`
//! is used, so `%`, `_` and `\` in values are ordinary characters.
//!
//! The lookups identity providers make all day start from indexes: every predicate an index
//! answers (`eq` and `sw` on the kind's indexed attributes in `resource_values`, the unique key,
//! `id`, the `meta` dates, `active eq false`, memberships) yields candidates, and the exact
//! condition runs on those alone (see [`FilterSql::candidates`] and `docs/filters.md`).
//! Memberships are not in any document: a group's `members.value eq` and a user's
//! `groups.value eq` (direct or nested) read the `group_members` table.
//!
//! Every condition produced is TRUE or FALSE, never NULL, so `NOT` means what it says.

use scim_filter::CompareOp;
use scim_model::filter::{Comparison, CompiledFilter, Node, Operand};
use scim_model::schema::{AttributeType, ResolvedAttribute};

use crate::dialect::{Dialect, SqlFragment};
use crate::resources::ResourceKind;
use crate::OrgId;

/// A filter or sort key the store cannot translate; the client gets a 400 `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsupportedFilter(String);

/// A filter in SQL: see [`FilterSql::condition`].
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    /// `SELECT DISTINCT id …` of a superset of the matches, read through indexes.
    pub(crate) candidates: Option<SqlFragment>,
    /// The exact condition on a row of the kind's table.
    pub(crate) exact: SqlFragment,
}

/// Where a JSON value sits: at a path of the row's search document, or in the array element a
/// value filter is looking at (`None`: the element itself, for simple multi-valued attributes).
#[derive(Clone)]
enum Loc {
    Row(Vec<String>),
    Element(Option<String>),
}

/// Translates filters and sort keys for one resource kind's table in one dialect.
#[derive(Debug, Clone)]
pub(crate) struct FilterSql {
    dialect: Dialect,
    org: OrgId,
    kind: &'static ResourceKind,
    location_prefix: Option<String>,
}

impl FilterSql {
    /// A translator for `dialect` and the listing of `org`'s resources of `kind` (side tables
    /// are searched for that organisation alone, so their indexes drive the lookup).
    /// `location_prefix` is what `meta.location` starts with, the public URL of the endpoint
    /// followed by `/` (e.g. `https://h/scim/v2/Users/`); without it, `meta.location` is treated
    /// as unassigned.
    pub(crate) fn new(
        dialect: Dialect,
        org: OrgId,
        kind: &'static ResourceKind,
        location_prefix: Option<String>,
    ) -> Self {
        FilterSql {
            dialect,
            org,
            kind,
            location_prefix,
        }
    }

    /// `table.column` for a column of this kind's table.
    fn column(&self, column: &str) -> String {
        format!("{}.{column}", self.kind.table)
    }

    /// The SQL for `filter`: the exact condition on a row of this kind's table, and, when an
    /// index narrows the filter (see [`FilterSql::candidates`]), a `SELECT DISTINCT id` of the
    /// candidates, a superset of the matches that a listing should start from.
    pub(crate) fn condition(
        &self,
        filter: &CompiledFilter<'_>,
    ) -> Result<Condition, UnsupportedFilter> {
        let mut exact = SqlFragment::new();
        self.node(filter.root(), false, &mut exact)?;
        // Every shape the planner must consider costs planning time on every request: the
        // lookup is wrapped only as much as its ids need.
        let candidates = match self.candidates(filter.root()) {
            None => None,
            Some(Candidates {
                ids: Ids::UniqueKey,
                ..
            }) => None,
            Some(Candidates {
                mut arms,
                ids: Ids::Distinct,
                ..
            }) if arms.len() == 1 => arms.pop(),
            Some(Candidates { arms, .. }) => {
                let mut select = SqlFragment::sql("SELECT DISTINCT id FROM (");
                for (i, arm) in arms.iter().enumerate() {
                    if i > 0 {
                        select.push_sql(" UNION ALL ");
                    }
                    select.push_fragment(arm);
                }
                select.push_sql(") AS candidate_ids");
                Some(select)
            }
        };
        Ok(Condition { candidates, exact })
    }

    fn node(
        &self,
        node: &Node<'_>,
        in_element: bool,
        out: &mut SqlFragment,
    ) -> Result<(), UnsupportedFilter> {
        if !in_element && self.membership_condition(node, out)? {
            return Ok(());
        }
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
                    self.node(item, in_element, out)?;
                }
                out.push_sql(")");
            }
            Node::Not(inner) => {
                out.push_sql("(NOT ");
                self.node(inner, in_element, out)?;
                out.push_sql(")");
            }
            Node::Any { attr, filter } => {
                let mut result = Ok(());
                self.each_element(&row_path(attr, false), out, |this, out| {
                    result = this.node(filter, true, out);
                });
                result?;
            }
            Node::Present(attr) => {
                if !in_element && self.column_condition(attr, None, out) {
                    return Ok(());
                }
                self.at_values(attr, in_element, out, |this, loc, out| {
                    this.exists(loc, out)
                });
            }
            Node::Compare(comparison) => {
                if !in_element && self.column_condition(&comparison.attr, Some(comparison), out) {
                    return Ok(());
                }
                self.at_values(&comparison.attr, in_element, out, |this, loc, out| {
                    this.compare(loc, comparison, out);
                });
            }
        }
        Ok(())
    }

    /// Conditions on memberships, which live in `group_members`, not in any document: a
    /// group's `members` and a user's `groups` (direct or through nested groups). Returns false
    /// when `node` is about neither.
    ///
    /// Supported: `members.value eq "id"`, `members[value eq "id"]`, `members pr`, and the same
    /// on `groups`; anything else on them is [`UnsupportedFilter`].
    fn membership_condition(
        &self,
        node: &Node<'_>,
        out: &mut SqlFragment,
    ) -> Result<bool, UnsupportedFilter> {
        let Some(select) = self.membership_select(node)? else {
            return Ok(false);
        };
        out.push_sql(&format!("{} IN (", self.column("id")))
            .push_fragment(&select)
            .push_sql(")");
        Ok(true)
    }

    /// The ids of the resources a membership condition holds for, as one `SELECT`: exactly the
    /// condition, and served by `group_members`' indexes.
    fn membership_select(&self, node: &Node<'_>) -> Result<Option<SqlFragment>, UnsupportedFilter> {
        let (attr, comparison) = match node {
            Node::Present(attr) => (attr, None),
            Node::Compare(comparison) => (&comparison.attr, Some(comparison)),
            Node::Any { attr, filter } => match &**filter {
                Node::Compare(inner) if inner.attr.sub_name() == Some("value") => {
                    (attr, Some(inner))
                }
                Node::Compare(inner) if inner.attr.name() == "value" => (attr, Some(inner)),
                _ => (attr, None),
            },
            _ => return Ok(None),
        };
        let relation = match (attr.extension_urn(), attr.name()) {
            (None, "members") if self.kind.has_members => "members",
            (None, "groups") if self.kind.name == "User" => "groups",
            _ => return Ok(None),
        };
        let unsupported = || {
            UnsupportedFilter(format!(
                "`{relation}` can be filtered only with `{relation}.value eq \"…\"`,                  `{relation}[value eq \"…\"]` or `{relation} pr`"
            ))
        };
        let mut out = SqlFragment::new();
        match (node, comparison) {
            (Node::Present(_), _) if attr.sub_name().is_none() => {
                let column = if relation == "members" {
                    "group_id"
                } else {
                    "member_id"
                };
                out.push_sql(&format!(
                    "SELECT {column} AS id FROM group_members WHERE org_id = "
                ))
                .push_bind(self.org);
                Ok(Some(out))
            }
            (Node::Compare(_) | Node::Any { .. }, Some(c))
                if c.op == CompareOp::Eq
                    && (matches!(node, Node::Any { .. }) || attr.sub_name() == Some("value")) =>
            {
                let Operand::String(value) = &c.operand else {
                    return Err(unsupported());
                };
                if relation == "members" {
                    out.push_sql("SELECT group_id AS id FROM group_members WHERE org_id = ")
                        .push_bind(self.org)
                        .push_sql(" AND member_id = ")
                        .push_bind(value.as_str());
                } else {
                    // The users in the group or in any group nested in it. Wrapped in a
                    // subquery so that it can be one arm of a UNION. Each step reads the
                    // groups found so far first and their members by key, in an order the
                    // planner cannot turn around (see `ListQuery`): a PostgreSQL LATERAL
                    // subquery kept whole by OFFSET 0, an SQLite CROSS JOIN.
                    let step = |out: &mut SqlFragment, member_type: &str| match self.dialect {
                        Dialect::Postgres => {
                            out.push_sql(
                                "SELECT gm.member_id AS id FROM down CROSS JOIN LATERAL \
                                 (SELECT member_id FROM group_members WHERE org_id = ",
                            )
                            .push_bind(self.org)
                            .push_sql(&format!(
                                " AND group_id = down.id AND member_type = '{member_type}' \
                                 OFFSET 0) AS gm"
                            ));
                        }
                        Dialect::Sqlite => {
                            out.push_sql(
                                "SELECT gm.member_id AS id FROM down CROSS JOIN group_members gm \
                                 ON gm.org_id = ",
                            )
                            .push_bind(self.org)
                            .push_sql(&format!(
                                " AND gm.group_id = down.id WHERE gm.member_type = '{member_type}'"
                            ));
                        }
                    };
                    out.push_sql("SELECT id FROM (WITH RECURSIVE down(id) AS (SELECT ")
                        .push_bind(value.as_str())
                        .push_sql(" UNION ");
                    step(&mut out, "Group");
                    out.push_sql(") ");
                    step(&mut out, "User");
                    out.push_sql(") AS in_group");
                }
                Ok(Some(out))
            }
            _ => Err(unsupported()),
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
                self.pg_value(path, out);
                out.push_sql(") = 'array' THEN ");
                self.pg_value(path, out);
                out.push_sql(" ELSE '[]'::jsonb END) AS e(v) WHERE ");
            }
            Dialect::Sqlite => {
                out.push_sql(&format!("EXISTS (SELECT 1 FROM json_each({}, ", self.column("search")))
                    .push_bind(sqlite_path(path))
                    .push_sql(") AS e WHERE e.type IN ('object', 'text', 'integer', 'real', 'true', 'false') AND ");
            }
        }
        body(self, out);
        out.push_sql(")");
    }

    /// The JSON value at `loc`, as the dialect's JSON type (PostgreSQL only).
    fn pg_json(&self, loc: &Loc, out: &mut SqlFragment) {
        match loc {
            Loc::Row(path) => self.pg_value(path, out),
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
    fn sqlite_type(&self, loc: &Loc, out: &mut SqlFragment) {
        self.sqlite_json("json_type", "e.type", loc, out);
    }

    /// SQLite: the SQL value (text, number) at `loc`.
    fn sqlite_value(&self, loc: &Loc, out: &mut SqlFragment) {
        self.sqlite_json("json_extract", "e.value", loc, out);
    }

    /// SQLite: `function(document, path)` for the value at `loc`; `element` is the column of
    /// `json_each` that gives the same for the element itself.
    fn sqlite_json(&self, function: &str, element: &str, loc: &Loc, out: &mut SqlFragment) {
        match loc {
            Loc::Row(path) => {
                out.push_sql(function)
                    .push_sql("(")
                    .push_sql(&self.column("search"))
                    .push_sql(", ")
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
                self.pg_json(loc, out);
                out.push_sql(" IS NOT NULL)");
            }
            Dialect::Sqlite => {
                out.push_sql("(");
                self.sqlite_type(loc, out);
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
                self.pg_json(loc, out);
                out.push_sql(if *b {
                    " = 'true'::jsonb"
                } else {
                    " = 'false'::jsonb"
                });
                out.push_sql(", FALSE)");
            }
            (Operand::Bool(b), Dialect::Sqlite) => {
                out.push_sql("COALESCE(");
                self.sqlite_type(loc, out);
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
                        self.pg_json(loc, out);
                        out.push_sql(") = 'number' AND CAST(");
                        self.pg_json(loc, out);
                        out.push_sql(" #>> '{}' AS numeric) ");
                    }
                    Dialect::Sqlite => {
                        out.push_sql("COALESCE(");
                        self.sqlite_type(loc, out);
                        out.push_sql(" IN ('integer', 'real') AND ");
                        self.sqlite_value(loc, out);
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
                self.pg_json(loc, out);
                out.push_sql(" #>> '{}')");
            }
            Dialect::Sqlite => self.sqlite_value(loc, out),
        };
        out.push_sql("COALESCE(");
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql("jsonb_typeof(");
                self.pg_json(loc, out);
                out.push_sql(") = 'string'");
            }
            Dialect::Sqlite => {
                self.sqlite_type(loc, out);
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
        let unique = self.kind.unique_attribute;
        match (name, sub, comparison) {
            // An empty string is unassigned (never matched), which the columns cannot tell.
            (name, None, Some(c)) if name == unique && c.op == CompareOp::Eq => match &c.operand {
                Operand::String(text) if !text.is_empty() => {
                    text_column(out, &self.column(self.kind.key_column), text);
                    true
                }
                _ => false,
            },
            ("externalId", None, Some(c)) if c.op == CompareOp::Eq => match &c.operand {
                Operand::String(text) if !text.is_empty() => {
                    text_column(out, &self.column("external_id"), text);
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
                        let id = self.column("id");
                        let value = |out: &mut SqlFragment| {
                            out.push_sql(&id);
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
                let column = &self.column(if field == "created" {
                    "created_at"
                } else {
                    "last_modified"
                });
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
                            self.kind.name.to_owned()
                        } else {
                            scim_model::value::fold_case(self.kind.name).into_owned()
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
                        let (before, after) = scim_model::meta::ETAG_AROUND_VERSION;
                        let version = self.column("version");
                        let value = |out: &mut SqlFragment| {
                            out.push_sql("(")
                                .push_bind(before)
                                .push_sql(&format!(" || CAST({version} AS TEXT) || "))
                                .push_bind(after)
                                .push_sql(")");
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
                        let id = self.column("id");
                        let value = move |out: &mut SqlFragment| {
                            out.push_sql("(")
                                .push_bind(prefix.as_str())
                                .push_sql(" || ")
                                .push_sql(&id)
                                .push_sql(")");
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
    pub(crate) fn order_by(
        &self,
        attr: &ResolvedAttribute<'_>,
        descending: bool,
    ) -> Result<SqlFragment, UnsupportedFilter> {
        let mut out = self.sort_key(attr)?;
        out.push_sql(if descending {
            " DESC NULLS FIRST"
        } else {
            " ASC NULLS LAST"
        });
        Ok(out)
    }

    /// The SQL value a listing sorts by, before its direction and NULL ordering: what
    /// [`order_by`](Self::order_by) orders by and a keyset page compares against.
    pub(crate) fn sort_key(
        &self,
        attr: &ResolvedAttribute<'_>,
    ) -> Result<SqlFragment, UnsupportedFilter> {
        if attr.extension_urn().is_none() {
            match (attr.name(), attr.sub_name()) {
                ("id", None) => return Ok(SqlFragment::sql(self.column("id"))),
                // The folded unique name, as in the search document, without parsing JSON.
                (name, None) if name == self.kind.unique_attribute => {
                    let key = self.column(self.kind.key_column);
                    // An empty name is unassigned, as in the search document.
                    return Ok(SqlFragment::sql(match self.dialect {
                        Dialect::Postgres => format!("NULLIF({key}, '') COLLATE \"C\""),
                        Dialect::Sqlite => format!("NULLIF({key}, '')"),
                    }));
                }
                ("meta", Some("created")) => {
                    return Ok(SqlFragment::sql(self.column("created_at")))
                }
                ("meta", Some("lastModified")) => {
                    return Ok(SqlFragment::sql(self.column("last_modified")))
                }
                ("meta", Some("version")) => return Ok(SqlFragment::sql(self.column("version"))),
                ("members", _) if self.kind.has_members => {
                    return Err(UnsupportedFilter(
                        "results cannot be sorted by `members`".into(),
                    ))
                }
                ("groups", _) if self.kind.name == "User" => {
                    return Err(UnsupportedFilter(
                        "results cannot be sorted by `groups`".into(),
                    ))
                }
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
            return Ok(out);
        }
        // The primary value if there is one, else the first.
        let sub = match attr.sub_name() {
            Some(sub) => Some(sub.to_owned()),
            None if attribute.is_complex() => Some("value".to_owned()),
            None => None,
        };
        let path = row_path(attr, false);
        let has_primary = attribute.sub_attribute("primary").is_some();
        // The trailing NULL keeps two arguments when there is no primary to try first: SQLite's
        // COALESCE refuses a single one.
        out.push_sql("COALESCE(");
        if has_primary {
            out.push_sql("(SELECT ");
            self.scalar_sort_value(&Loc::Element(sub.clone()), numeric, &mut out);
            match self.dialect {
                Dialect::Postgres => {
                    out.push_sql(" FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
                    self.pg_value(&path, &mut out);
                    out.push_sql(") = 'array' THEN ");
                    self.pg_value(&path, &mut out);
                    out.push_sql(" ELSE '[]'::jsonb END) AS e(v) WHERE (e.v -> 'primary') = 'true'::jsonb LIMIT 1), ");
                }
                Dialect::Sqlite => {
                    out.push_sql(&format!(" FROM json_each({}, ", self.column("search")))
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
                self.pg_value(&path, &mut out);
                out.push_sql(") = 'array' THEN ");
                self.pg_value(&path, &mut out);
                out.push_sql(
                    " ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, n) ORDER BY e.n LIMIT 1), NULL)",
                );
            }
            Dialect::Sqlite => {
                out.push_sql(&format!(" FROM json_each({}, ", self.column("search")))
                    .push_bind(sqlite_path(&path))
                    .push_sql(") AS e ORDER BY e.key LIMIT 1), NULL)");
            }
        }
        Ok(out)
    }

    /// A sortable SQL value for the JSON at `loc`: a number for numeric attributes, else text
    /// ordered by code point.
    fn scalar_sort_value(&self, loc: &Loc, numeric: bool, out: &mut SqlFragment) {
        match (self.dialect, numeric) {
            (Dialect::Postgres, true) => {
                out.push_sql("CASE WHEN jsonb_typeof(");
                self.pg_json(loc, out);
                out.push_sql(") = 'number' THEN CAST(");
                self.pg_json(loc, out);
                out.push_sql(" #>> '{}' AS numeric) END");
            }
            (Dialect::Postgres, false) => {
                out.push_sql("((");
                self.pg_json(loc, out);
                out.push_sql(" #>> '{}') COLLATE \"C\")");
            }
            (Dialect::Sqlite, _) => self.sqlite_value(loc, out),
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

impl FilterSql {
    /// PostgreSQL: `jsonb_extract_path(search_jsonb, 'a', 'b')`, each segment bound;
    /// `search_jsonb` is the search document kept parsed by a generated column.
    fn pg_value(&self, path: &[String], out: &mut SqlFragment) {
        out.push_sql("jsonb_extract_path(")
            .push_sql(&self.column("search_jsonb"));
        for segment in path {
            out.push_sql(", ").push_bind(segment.as_str());
        }
        out.push_sql(")");
    }
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

/// How many rows a probe is expected to find: an equality a handful, a range possibly more.
/// Of the conjuncts of an `and`, the narrowest is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Exact,
    Range,
}

/// What the ids of one lookup are like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// At most one: an equality on the table's primary or unique key, which the exact condition
    /// itself states, so a planner has one choice even without statistics and needs no
    /// candidates.
    UniqueKey,
    /// Each at most once.
    Distinct,
    /// Possibly repeated (a prefix two of a user's emails share, a user in two nested groups).
    Repeated,
}

/// A superset of the resources a filter matches, as `SELECT`s of ids that indexes answer: the
/// union of `arms`.
struct Candidates {
    arms: Vec<SqlFragment>,
    reach: Reach,
    ids: Ids,
}

/// The most arms a union of candidates may have; an `or` of more is read by scanning, which at
/// that point costs about as much.
const MAX_ARMS: usize = 64;

impl FilterSql {
    /// The candidates of `node`, or `None` when no index narrows it (a `not`, a `pr`, a
    /// comparison on an attribute that is not indexed, an `or` with such a branch).
    ///
    /// Every predicate an index answers counts, wherever it sits: a comparison on its own, one
    /// conjunct of an `and` (the narrowest), every branch of an `or` (a union), a comparison
    /// inside a value filter (`emails[type eq "work" and value eq "…"]`, which Entra ID's
    /// `emails[type eq "work"].value eq "…"` compiles to). The candidates are only a superset:
    /// the exact condition still runs on each, so a sibling such as `type eq "work"` is checked
    /// there, in the one element the value filter is looking at.
    ///
    /// Each lookup is shaped so that the planner has one sensible choice even before it has
    /// statistics for a freshly loaded table: equalities on the leading key columns, ranges
    /// written with both bounds (PostgreSQL assumes a two-sided range is narrow, a one-sided one
    /// a third of the table).
    fn candidates(&self, node: &Node<'_>) -> Option<Candidates> {
        match node {
            Node::Compare(comparison) => {
                if let Ok(Some(select)) = self.membership_select(node) {
                    return Some(Candidates {
                        arms: vec![select],
                        reach: Reach::Exact,
                        ids: Ids::Repeated,
                    });
                }
                let (arm, reach, ids) = self.probe(comparison)?;
                Some(Candidates {
                    arms: vec![arm],
                    reach,
                    ids,
                })
            }
            Node::Any { filter, .. } => match self.membership_select(node) {
                Ok(Some(select)) => Some(Candidates {
                    arms: vec![select],
                    reach: Reach::Exact,
                    ids: Ids::Repeated,
                }),
                _ => self.candidates(filter),
            },
            Node::And(items) => items
                .iter()
                .filter_map(|item| self.candidates(item))
                .min_by_key(|candidates| (candidates.reach, candidates.arms.len())),
            Node::Or(items) => {
                let mut arms = Vec::new();
                let mut reach = Reach::Exact;
                for item in items {
                    let candidates = self.candidates(item)?;
                    reach = reach.max(candidates.reach);
                    arms.extend(candidates.arms);
                    if arms.len() > MAX_ARMS {
                        return None;
                    }
                }
                Some(Candidates {
                    arms,
                    reach,
                    ids: Ids::Repeated,
                })
            }
            Node::Not(_) | Node::Present(_) => None,
        }
    }

    /// The index lookup for one comparison, if an index answers it.
    fn probe(&self, comparison: &Comparison<'_>) -> Option<(SqlFragment, Reach, Ids)> {
        let attr = &comparison.attr;
        let table = self.kind.table;
        let rows = |out: &mut SqlFragment| {
            out.push_sql(&format!(
                "SELECT p.id AS id FROM {table} p WHERE p.org_id = "
            ))
            .push_bind(self.org)
            .push_sql(&self.kind.scope("p."));
        };
        if attr.extension_urn().is_none() {
            match (
                attr.name(),
                attr.sub_name(),
                comparison.op,
                &comparison.operand,
            ) {
                ("id", None, CompareOp::Eq, Operand::String(id)) => {
                    let mut out = SqlFragment::new();
                    rows(&mut out);
                    out.push_sql(" AND p.id = ").push_bind(id.as_str());
                    // Not `UniqueKey`: the exact condition compares ids by code point
                    // (`COLLATE "C"` on PostgreSQL), which the primary key cannot serve.
                    return Some((out, Reach::Exact, Ids::Distinct));
                }
                // The unique key: its partial index is the narrowest there is.
                (name, None, CompareOp::Eq, Operand::String(key))
                    if name == self.kind.unique_attribute && !key.is_empty() =>
                {
                    let mut out = SqlFragment::new();
                    rows(&mut out);
                    out.push_sql(&format!(" AND p.{} = ", self.kind.key_column))
                        .push_bind(key.as_str())
                        .push_sql(" AND p.deleted_at IS NULL");
                    return Some((out, Reach::Exact, Ids::UniqueKey));
                }
                ("meta", Some(field @ ("created" | "lastModified")), op, Operand::DateTime(at)) => {
                    let column = if field == "created" {
                        "created_at"
                    } else {
                        "last_modified"
                    };
                    // Stored times are whole microseconds and `timestamp_micros` rounds down,
                    // so these bounds hold every stored time the comparison can match.
                    let micros = at.timestamp_micros();
                    let (low, high, reach) = match op {
                        CompareOp::Eq => (micros, micros, Reach::Exact),
                        CompareOp::Gt | CompareOp::Ge => (micros, i64::MAX, Reach::Range),
                        CompareOp::Lt | CompareOp::Le => (i64::MIN, micros, Reach::Range),
                        _ => return None,
                    };
                    let mut out = SqlFragment::new();
                    rows(&mut out);
                    out.push_sql(&format!(" AND p.{column} >= "))
                        .push_bind(low)
                        .push_sql(&format!(" AND p.{column} <= "))
                        .push_bind(high);
                    return Some((out, reach, Ids::Distinct));
                }
                ("active", None, CompareOp::Eq, Operand::Bool(false)) if self.kind.has_active => {
                    let mut out = SqlFragment::new();
                    rows(&mut out);
                    out.push_sql(" AND NOT p.active AND p.deleted_at IS NULL");
                    return Some((out, Reach::Range, Ids::Distinct));
                }
                _ => {}
            }
        }
        let path = row_path(attr, true);
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let indexed = self.kind.indexed.iter().find(|a| a.is(&path))?;
        // Values as the search document holds them (already folded where the attribute is
        // case-insensitive), cut as the index cuts them.
        let (low, high, reach) = match (comparison.op, &comparison.operand) {
            (CompareOp::Eq, Operand::String(text)) if !text.is_empty() => {
                let value = crate::values::cut(text).to_owned();
                (value.clone(), Some(value), Reach::Exact)
            }
            (CompareOp::Eq, Operand::Bool(flag)) => {
                (flag.to_string(), Some(flag.to_string()), Reach::Exact)
            }
            (CompareOp::Sw, Operand::String(prefix)) if !prefix.is_empty() => {
                let prefix = crate::values::cut(prefix);
                // Everything that starts with the prefix sorts in [prefix, successor): a range
                // of the index, by code point on both backends.
                match successor(prefix) {
                    Some(end) => (prefix.to_owned(), Some(end), Reach::Range),
                    None => (prefix.to_owned(), None, Reach::Range),
                }
            }
            (op, Operand::DateTime(at)) => {
                let text = scim_model::value::sortable_date_time(at);
                match op {
                    CompareOp::Eq => (text.clone(), Some(text), Reach::Exact),
                    CompareOp::Gt | CompareOp::Ge => {
                        (text, Some(MAX_TEXT.to_owned()), Reach::Range)
                    }
                    CompareOp::Lt | CompareOp::Le => (String::new(), Some(text), Reach::Range),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let mut out =
            SqlFragment::sql("SELECT v.resource_id AS id FROM resource_values v WHERE v.org_id = ");
        out.push_bind(self.org)
            .push_sql(" AND v.resource_type = ")
            .push_bind(self.kind.name)
            .push_sql(" AND v.attr = ")
            .push_bind(indexed.key());
        match high {
            Some(high) if high == low => {
                out.push_sql(" AND v.value = ").push_bind(low);
            }
            Some(high) => {
                let upper = if comparison.op == CompareOp::Sw {
                    " AND v.value < "
                } else {
                    " AND v.value <= "
                };
                out.push_sql(" AND v.value >= ")
                    .push_bind(low)
                    .push_sql(upper)
                    .push_bind(high);
            }
            // A prefix of nothing but U+10FFFF has no successor: a one-sided range.
            None => {
                out.push_sql(" AND v.value >= ").push_bind(low);
            }
        }
        // One entry per resource and value: an equality finds each resource once.
        let ids = if reach == Reach::Exact {
            Ids::Distinct
        } else {
            Ids::Repeated
        };
        Some((out, reach, ids))
    }
}

/// The upper bound of a range on dateTimes, whose sortable form starts with a digit or a
/// sign: U+10FFFF sorts after both.
const MAX_TEXT: &str = "\u{10FFFF}";

/// The least string greater than every string that starts with `prefix`, by code point: the
/// prefix with its last character incremented, after dropping trailing U+10FFFF; `None` when
/// no such string exists.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn a_prefix_range_ends_at_the_successor() {
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor(""), None);
    }
}
