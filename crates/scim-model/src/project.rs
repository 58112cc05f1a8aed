//! Attribute projection: which attributes of a resource a response shows, from the
//! `attributes` and `excludedAttributes` parameters (RFC 7644 §3.4.2.5, §3.9) and each
//! attribute's `returned` characteristic (RFC 7643 §2.2).
//!
//! A [`Projection`] is parsed once per request and applied to each resource with [`project`],
//! which resolves nothing and parses nothing.
//!
//! The rules:
//! - `returned: always` (`id`, `schemas`) is shown whatever the parameters say; `never`
//!   (`password`), and any `writeOnly` attribute (RFC 7643 §7: "SHALL NOT be returned"), never;
//!   `default` unless excluded, or left out of a given `attributes`; `request` only when
//!   `attributes` names it.
//! - `attributes=name.givenName` shows `name` with `givenName` only (and any `always`
//!   sub-attribute); `attributes=name` shows `name` with its `default` sub-attributes;
//!   `excludedAttributes=name.givenName` drops that one sub-attribute.
//! - A schema URN names all the attributes of that schema (for the core schema, the common
//!   attributes too): `excludedAttributes=urn:…:enterprise:2.0:User` drops the extension.
//! - A complex value, extension object or multi-valued attribute left empty is dropped;
//!   `schemas` is shown as stored, even when an extension it lists was projected away (RFC 7643
//!   §3 lists the schemas a resource *has*).
//! - Names compare case-insensitively; an unknown name is ignored, since RFC 7644 defines no
//!   error for it; an item that is not an attribute path (`emails[type eq "work"]`,
//!   `name.givenName.x`) is 400 `invalidValue`.
//! - The parameters are mutually exclusive (RFC 7644 §3.9); when both are given, `attributes`
//!   applies and `excludedAttributes` is ignored.
//! - A parameter lists at most [`Limits::max_attribute_names`] names (repeats count; more are
//!   400 `invalidValue`), and a name given twice is kept once.
//! - Members of the resource that no schema defines are shown unless `attributes` is given.
//! - Only the query semantics are applied: showing the `request` attributes a PUT, POST or
//!   PATCH just wrote (RFC 7643 §2.2) is up to the caller, by naming them in `attributes`.
//!
//! ```
//! use scim_model::project::{project, Projection};
//! use scim_model::schema::SchemaRegistry;
//! use serde_json::json;
//!
//! let registry = SchemaRegistry::standard();
//! let users = registry.resource_type("User").ok_or("no User type")?;
//! let projection = Projection::parse(Some("userName, NAME.givenName"), None, users)?;
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223",
//!     "userName": "bjensen",
//!     "name": {"givenName": "Barbara", "familyName": "Jensen"},
//!     "password": "t1meMa$heen",
//!     "title": "Tour Guide",
//! });
//! assert_eq!(project(&user, users, &projection), json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223",
//!     "userName": "bjensen",
//!     "name": {"givenName": "Barbara"},
//! }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ptr;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::limits::Limits;
use crate::schema::{Attribute, Mutability, ResourceTypeView, Returned, Schema};

/// The parsed `attributes` / `excludedAttributes` of one request, resolved against a resource
/// type's schemas. [`Projection::default`] is a request with neither.
#[derive(Debug, Clone, Default)]
pub struct Projection<'r> {
    mode: Mode<'r>,
}

#[derive(Debug, Clone, Default)]
enum Mode<'r> {
    /// Neither parameter: the `default` set.
    #[default]
    Default,
    /// `attributes`.
    Include(Selection<'r>),
    /// `excludedAttributes`.
    Exclude(Selection<'r>),
}

/// The attributes a parameter names, as references into the registry, so that matching a
/// resource's attribute is a pointer comparison.
#[derive(Debug, Clone, Default)]
struct Selection<'r> {
    /// Schemas named by URN.
    schemas: Vec<&'r Schema>,
    /// `(attribute, None)` names a whole attribute, `(attribute, Some(sub))` one sub-attribute.
    paths: Vec<(&'r Attribute, Option<&'r Attribute>)>,
}

impl<'r> Selection<'r> {
    fn names_schema(&self, schema: &Schema) -> bool {
        self.schemas.iter().any(|named| ptr::eq(*named, schema))
    }

    fn names_whole(&self, attribute: &Attribute) -> bool {
        self.paths
            .iter()
            .any(|(named, sub)| sub.is_none() && ptr::eq(*named, attribute))
    }

    fn names_some_sub(&self, attribute: &Attribute) -> bool {
        self.paths
            .iter()
            .any(|(named, sub)| sub.is_some() && ptr::eq(*named, attribute))
    }

    fn names_sub(&self, attribute: &Attribute, sub: &Attribute) -> bool {
        self.paths.iter().any(|(named, named_sub)| {
            ptr::eq(*named, attribute) && named_sub.is_some_and(|named_sub| ptr::eq(named_sub, sub))
        })
    }

    /// The items of one parameter; `None` when it has none.
    fn parse<'i>(
        items: impl Iterator<Item = &'i str>,
        parameter: &str,
        resource_type: ResourceTypeView<'r>,
        limits: &Limits,
    ) -> Result<Option<Self>, ScimError> {
        let mut selection = Selection::default();
        let mut count = 0_usize;
        for item in items.flat_map(|item| item.split(',')).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            count += 1;
            if count > limits.max_attribute_names {
                return Err(ScimError::invalid_value(format!(
                    "`{parameter}` names more than {} attributes; at most {} are accepted",
                    limits.max_attribute_names, limits.max_attribute_names
                )));
            }
            selection.add(item, parameter, resource_type)?;
        }
        Ok((count > 0).then_some(selection))
    }

    fn add(
        &mut self,
        item: &str,
        parameter: &str,
        resource_type: ResourceTypeView<'r>,
    ) -> Result<(), ScimError> {
        let (schema, path) = resource_type.split_schema_prefix(item);
        if path.is_empty() {
            if let Some(schema) = schema {
                if !self.names_schema(schema) {
                    self.schemas.push(schema);
                }
            }
            return Ok(());
        }
        if schema.is_none() && path.contains(':') {
            // Qualified with a schema this resource type does not have: an unknown name.
            return Ok(());
        }
        let (name, sub) = match path.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (path, None),
        };
        if !is_attribute_name(name) || sub.is_some_and(|sub| !is_attribute_name(sub)) {
            return Err(ScimError::invalid_value(format!(
                "`{item}` in `{parameter}` is not an attribute name such as `name.givenName` \
                 (RFC 7644 §3.10)"
            )));
        }
        if let Ok(resolved) = resource_type.resolve(schema.map(Schema::id), name, sub) {
            let (attribute, sub) = (resolved.attribute(), resolved.sub_attribute());
            // Each name once, so that a list repeating one name costs no more to apply.
            let named = match sub {
                Some(sub) => self.names_sub(attribute, sub),
                None => self.names_whole(attribute),
            };
            if !named {
                self.paths.push((attribute, sub));
            }
        }
        Ok(())
    }
}

impl<'r> Projection<'r> {
    /// Parses the query parameters (RFC 7644 §3.4.2.5): comma-separated attribute paths,
    /// `[urn:]name[.subName]` or a bare schema URN. A parameter that is absent or blank counts
    /// as not given; when both are given, `excluded` is ignored.
    ///
    /// # Errors
    /// 400 `invalidValue` when an item is not an attribute path, or a parameter names more than
    /// the default [`Limits::max_attribute_names`]. RFC 7644 gives no `scimType` for a
    /// malformed parameter; `invalidValue` ("the value is not compatible") is the closest of
    /// §3.12's, `invalidPath` being about PATCH paths.
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
        resource_type: ResourceTypeView<'r>,
    ) -> Result<Self, ScimError> {
        Self::parse_with_limits(attributes, excluded, resource_type, &Limits::default())
    }

    /// [`Projection::parse`] under `limits`.
    ///
    /// # Errors
    /// As [`Projection::parse`], with [`Limits::max_attribute_names`] from `limits`.
    pub fn parse_with_limits(
        attributes: Option<&str>,
        excluded: Option<&str>,
        resource_type: ResourceTypeView<'r>,
        limits: &Limits,
    ) -> Result<Self, ScimError> {
        Self::build(
            attributes.into_iter(),
            excluded.into_iter(),
            resource_type,
            limits,
        )
    }

    /// The same from the arrays of a `POST /.search` request (RFC 7644 §3.4.3); an item may
    /// itself be comma-separated.
    ///
    /// # Errors
    /// As [`Projection::parse`].
    pub fn from_lists(
        attributes: &[String],
        excluded: &[String],
        resource_type: ResourceTypeView<'r>,
    ) -> Result<Self, ScimError> {
        Self::from_lists_with_limits(attributes, excluded, resource_type, &Limits::default())
    }

    /// [`Projection::from_lists`] under `limits`.
    ///
    /// # Errors
    /// As [`Projection::parse`], with [`Limits::max_attribute_names`] from `limits`.
    pub fn from_lists_with_limits(
        attributes: &[String],
        excluded: &[String],
        resource_type: ResourceTypeView<'r>,
        limits: &Limits,
    ) -> Result<Self, ScimError> {
        Self::build(
            attributes.iter().map(String::as_str),
            excluded.iter().map(String::as_str),
            resource_type,
            limits,
        )
    }

    fn build<'i>(
        attributes: impl Iterator<Item = &'i str>,
        excluded: impl Iterator<Item = &'i str>,
        resource_type: ResourceTypeView<'r>,
        limits: &Limits,
    ) -> Result<Self, ScimError> {
        let mode = if let Some(selection) =
            Selection::parse(attributes, "attributes", resource_type, limits)?
        {
            Mode::Include(selection)
        } else if let Some(selection) =
            Selection::parse(excluded, "excludedAttributes", resource_type, limits)?
        {
            Mode::Exclude(selection)
        } else {
            Mode::Default
        };
        Ok(Projection { mode })
    }

    /// Whether a top-level attribute of `schema` is shown.
    fn shows(&self, schema: &Schema, attribute: &Attribute) -> bool {
        if attribute.mutability() == Mutability::WriteOnly {
            return false;
        }
        match (attribute.returned(), &self.mode) {
            (Returned::Always, _) | (Returned::Default, Mode::Default) => true,
            (Returned::Never, _) | (Returned::Request, Mode::Default | Mode::Exclude(_)) => false,
            (Returned::Default, Mode::Exclude(excluded)) => {
                !(excluded.names_schema(schema) || excluded.names_whole(attribute))
            }
            (Returned::Default, Mode::Include(included)) => {
                included.names_schema(schema)
                    || included.names_whole(attribute)
                    || included.names_some_sub(attribute)
            }
            (Returned::Request, Mode::Include(included)) => {
                included.names_whole(attribute) || included.names_some_sub(attribute)
            }
        }
    }

    /// Whether the sub-attribute `sub` of a shown `attribute` is shown.
    fn shows_sub(&self, schema: &Schema, attribute: &Attribute, sub: &Attribute) -> bool {
        if sub.mutability() == Mutability::WriteOnly {
            return false;
        }
        match (sub.returned(), &self.mode) {
            (Returned::Always, _) | (Returned::Default, Mode::Default) => true,
            (Returned::Never, _) | (Returned::Request, Mode::Default | Mode::Exclude(_)) => false,
            (Returned::Default, Mode::Exclude(excluded)) => !excluded.names_sub(attribute, sub),
            (Returned::Default, Mode::Include(included)) => {
                included.names_schema(schema)
                    || included.names_whole(attribute)
                    || included.names_sub(attribute, sub)
                    // An `always` attribute shown without being named shows its defaults.
                    || (attribute.returned() == Returned::Always
                        && !included.names_some_sub(attribute))
            }
            (Returned::Request, Mode::Include(included)) => included.names_sub(attribute, sub),
        }
    }

    /// Whether a member no schema defines is shown; `parent` is the attribute holding it, if
    /// it is a sub-attribute.
    fn shows_unknown(&self, schema: &Schema, parent: Option<&Attribute>) -> bool {
        match &self.mode {
            Mode::Default | Mode::Exclude(_) => true,
            Mode::Include(included) => parent.is_some_and(|parent| {
                included.names_schema(schema) || included.names_whole(parent)
            }),
        }
    }

    /// The shown part of `value`, the value of `attribute`; `None` when nothing is shown.
    fn attribute(&self, schema: &Schema, attribute: &Attribute, value: &Value) -> Option<Value> {
        if !self.shows(schema, attribute) {
            return None;
        }
        if !attribute.is_complex() {
            return Some(value.clone());
        }
        match value {
            Value::Array(items) => {
                let shown: Vec<Value> = items
                    .iter()
                    .filter_map(|item| self.complex_value(schema, attribute, item))
                    .collect();
                (!shown.is_empty()).then_some(Value::Array(shown))
            }
            single => self.complex_value(schema, attribute, single),
        }
    }

    fn complex_value(
        &self,
        schema: &Schema,
        attribute: &Attribute,
        value: &Value,
    ) -> Option<Value> {
        let Value::Object(members) = value else {
            // Not what validation stores for a complex value; shown as it is.
            return Some(value.clone());
        };
        let shown: Map<String, Value> = members
            .iter()
            .filter(|(key, _)| match attribute.sub_attribute(key) {
                Some(sub) => self.shows_sub(schema, attribute, sub),
                None => self.shows_unknown(schema, Some(attribute)),
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        (!shown.is_empty()).then_some(Value::Object(shown))
    }

    /// The shown part of the member `key` of the resource (`schema` being the core schema,
    /// `common` the common attributes) or of an extension's object (`common` empty).
    fn member(
        &self,
        schema: &Schema,
        common: &[Attribute],
        key: &str,
        value: &Value,
    ) -> Option<Value> {
        let attribute = schema.attribute(key).or_else(|| {
            common
                .iter()
                .find(|attribute| attribute.name().eq_ignore_ascii_case(key))
        });
        match attribute {
            Some(attribute) => self.attribute(schema, attribute, value),
            None => self.shows_unknown(schema, None).then(|| value.clone()),
        }
    }

    /// The shown part of an extension's object; `None` when nothing is shown.
    fn extension(&self, schema: &Schema, value: &Value) -> Option<Value> {
        let Value::Object(members) = value else {
            return self.shows_unknown(schema, None).then(|| value.clone());
        };
        let shown: Map<String, Value> = members
            .iter()
            .filter_map(|(key, value)| {
                self.member(schema, &[], key, value)
                    .map(|value| (key.clone(), value))
            })
            .collect();
        (!shown.is_empty()).then_some(Value::Object(shown))
    }
}

/// The part of `resource` (a stored resource of `resource_type`) that a response shows under
/// `projection`.
pub fn project(
    resource: &Value,
    resource_type: ResourceTypeView<'_>,
    projection: &Projection<'_>,
) -> Value {
    let Value::Object(members) = resource else {
        return resource.clone();
    };
    let core = resource_type.core_schema();
    let common = resource_type.common_attributes();
    let mut shown = Map::new();
    for (key, value) in members {
        let value = match resource_type.extension(key) {
            Some(extension) => projection.extension(extension.schema, value),
            None => projection.member(core, common, key, value),
        };
        if let Some(value) = value {
            shown.insert(key.clone(), value);
        }
    }
    Value::Object(shown)
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7643 §2.1),
/// and the `$ref` sub-attribute of §2.4.
fn is_attribute_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
