//! What a PATCH path or a path-less value key designates, resolved against the schemas.

use scim_filter::{AttrPath, CompValue, Filter, PatchPath};
use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::CompiledFilter;
use crate::limits::Limits;
use crate::schema::{Attribute, LookupError, ResolvedAttribute, ResourceTypeView, Schema};

/// A resolved PATCH target.
pub(super) enum Target<'r> {
    /// A path that is exactly a schema URN: the extension's object (or, for the core schema,
    /// the resource's core attributes).
    Schema(&'r Schema),
    /// `attr` or `attr.sub`, possibly URN-qualified.
    Attr(ResolvedAttribute<'r>),
    /// `attr[filter]` or `attr[filter].sub`.
    Filtered {
        /// The multi-valued complex attribute, without sub-attribute.
        attr: ResolvedAttribute<'r>,
        /// Which of its values are targeted.
        filter: ElementFilter<'r>,
        /// The sub-attribute of the selected values, if the path names one.
        sub: Option<&'r Attribute>,
    },
    /// An attribute of a schema URN the resource type does not have, such as an identity
    /// provider's own extension; what happens to it is [`super::PatchOptions::ignore_unknown_schemas`].
    UnknownSchema(String),
}

/// Resolves a PATCH `path`.
pub(super) fn resolve_path<'r>(
    resource_type: ResourceTypeView<'r>,
    path: &str,
    limits: &Limits,
) -> Result<Target<'r>, ScimError> {
    let parsed = limits.parse_options().parse_path(path).map_err(|error| {
        ScimError::invalid_path(format!("`{path}` is not a valid path: {error}"))
    })?;
    match parsed {
        PatchPath::Attr(attr) => resolve_attr(resource_type, &attr, None),
        PatchPath::Filtered {
            attr,
            filter,
            sub_attr,
        } => {
            if attr.sub_attr.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "`{path}`: a value filter follows an attribute, not a sub-attribute"
                )));
            }
            let resolved = match resource_type.resolve(attr.urn.as_deref(), &attr.name, None) {
                Ok(resolved) => resolved,
                Err(LookupError::UnknownSchema { schema, .. }) => {
                    return Ok(Target::UnknownSchema(schema))
                }
                Err(error) => return Err(ScimError::invalid_path(error.to_string())),
            };
            let attribute = resolved.attribute();
            if !(attribute.is_complex() && attribute.is_multi_valued()) {
                return Err(ScimError::invalid_path(format!(
                    "`{resolved}` is not a multi-valued complex attribute, so it takes no value \
                     filter"
                )));
            }
            let sub = match sub_attr {
                None => None,
                Some(sub) => Some(attribute.sub_attribute(&sub).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "attribute `{resolved}` has no sub-attribute `{sub}`"
                    ))
                })?),
            };
            let filter = ElementFilter::compile(filter, resolved, resource_type)?;
            Ok(Target::Filtered {
                attr: resolved,
                filter,
                sub,
            })
        }
    }
}

/// Resolves a key of a path-less value (`nickName`, `name.givenName`,
/// `urn:…:enterprise:2.0:User:employeeNumber`, or an extension URN); inside the object of a
/// schema URN, `schema` is that schema and unqualified keys belong to it.
pub(super) fn resolve_key<'r>(
    resource_type: ResourceTypeView<'r>,
    key: &str,
    schema: Option<&'r Schema>,
    limits: &Limits,
) -> Result<Target<'r>, ScimError> {
    let parsed = limits.parse_options().parse_path(key).map_err(|error| {
        ScimError::invalid_path(format!("`{key}` is not an attribute name: {error}"))
    })?;
    match parsed {
        PatchPath::Attr(attr) => resolve_attr(resource_type, &attr, schema),
        PatchPath::Filtered { .. } => Err(ScimError::invalid_path(format!(
            "`{key}`: the keys of a value name attributes; a value filter belongs in `path`"
        ))),
    }
}

fn resolve_attr<'r>(
    resource_type: ResourceTypeView<'r>,
    attr: &AttrPath,
    schema: Option<&'r Schema>,
) -> Result<Target<'r>, ScimError> {
    if attr.sub_attr.is_none() {
        if let Some(schema) = resource_type.schema_path(attr.urn.as_deref(), &attr.name) {
            return Ok(Target::Schema(schema));
        }
    }
    let urn = attr.urn.as_deref().or(schema.map(Schema::id));
    match resource_type.resolve(urn, &attr.name, attr.sub_attr.as_deref()) {
        Ok(resolved) => Ok(Target::Attr(resolved)),
        Err(LookupError::UnknownSchema { schema, .. }) => Ok(Target::UnknownSchema(schema)),
        Err(error) => Err(ScimError::invalid_path(error.to_string())),
    }
}

/// A value filter of a PATCH path, evaluated on one value of its attribute at a time.
pub(super) struct ElementFilter<'r> {
    /// `attr[filter]`, compiled: [`CompiledFilter::matches_value`] tests one value.
    compiled: CompiledFilter<'r>,
    /// The value the filter describes, when it is `eq` conditions joined by `and`: what a
    /// filtered `add` (or `replace`, see `MissingFilterTarget`) that matches nothing adds.
    conditions: Option<Map<String, Value>>,
}

impl<'r> ElementFilter<'r> {
    fn compile(
        filter: Filter,
        attr: ResolvedAttribute<'r>,
        resource_type: ResourceTypeView<'r>,
    ) -> Result<Self, ScimError> {
        let attribute = attr.attribute();
        let mut conditions = Map::new();
        let conditions =
            collect_conditions(&filter, attribute, &mut conditions).then_some(conditions);
        let path = AttrPath {
            urn: attr.extension_urn().map(str::to_owned),
            name: attr.name().to_owned(),
            sub_attr: None,
        };
        let wrapped = Filter::ValuePath {
            attr: path,
            filter: Box::new(filter),
        };
        let compiled = CompiledFilter::compile(&wrapped, resource_type)?;
        Ok(ElementFilter {
            compiled,
            conditions,
        })
    }

    /// Whether the filter selects `element`, one value of the attribute.
    pub(super) fn matches(&self, element: &Value) -> bool {
        self.compiled.matches_value(element)
    }

    /// The sub-attributes a new value gets from the filter, if it can describe one.
    pub(super) fn conditions(&self) -> Option<&Map<String, Value>> {
        self.conditions.as_ref()
    }
}

/// Collects `sub eq literal` conditions joined by `and` into `into`; false when the filter is
/// anything else (`or`, `ne`, `co`, `pr`, `not`, `null`), or gives one sub-attribute two values.
fn collect_conditions(
    filter: &Filter,
    attribute: &Attribute,
    into: &mut Map<String, Value>,
) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: scim_filter::CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub_attr.is_none() => {
            let Some(sub) = attribute.sub_attribute(&path.name) else {
                return false;
            };
            let literal = match value {
                CompValue::Null => return false,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::String(s) => Value::String(s.clone()),
            };
            match into.get(sub.name()) {
                Some(existing) => *existing == literal,
                None => {
                    into.insert(sub.name().to_owned(), literal);
                    true
                }
            }
        }
        Filter::And(items) => items
            .iter()
            .all(|item| collect_conditions(item, attribute, into)),
        _ => false,
    }
}
