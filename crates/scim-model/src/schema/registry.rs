//! The schema registry: schemas and resource types, and the attribute lookups that filter
//! evaluation, validation, projection and PATCH make on every request.
//!
//! Every name and URN compares case-insensitively (RFC 7644 §3.10). Lookups scan short lists
//! with `eq_ignore_ascii_case` and never allocate: a resource type has a few tens of attributes,
//! and attribute names are ASCII (RFC 7643 §2.1), so a scan beats hashing a lowercased copy.

use std::fmt;

use super::builtin::{
    common_attributes, enterprise_user_schema, group_resource_type, group_schema,
    user_resource_type, user_schema,
};
use super::{Attribute, ResourceType, Schema};

/// Why a schema or resource type could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A schema with the same id (compared case-insensitively) is already registered.
    #[error("schema `{0}` is already registered")]
    DuplicateSchema(String),
    /// A resource type with the same name or id is already registered.
    #[error("resource type `{0}` is already registered")]
    DuplicateResourceType(String),
    /// Another resource type already serves the endpoint.
    #[error("endpoint `{0}` is already served by another resource type")]
    DuplicateEndpoint(String),
    /// A resource type names a schema that is not registered.
    #[error("resource type `{resource_type}` names schema `{schema}`, which is not registered")]
    UnregisteredSchema {
        /// The resource type's name.
        resource_type: String,
        /// The schema URN it names.
        schema: String,
    },
    /// A resource type's schemas are inconsistent, e.g. an extension listed twice.
    #[error("resource type `{resource_type}`: {reason}")]
    InvalidResourceType {
        /// The resource type's name.
        resource_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A schema breaks a rule of RFC 7643 §2 or §7.
    #[error("schema `{schema}`: {reason}")]
    InvalidSchema {
        /// The schema URN.
        schema: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why an attribute reference did not resolve.
///
/// Callers choose the SCIM error: `invalidFilter` in a filter, `invalidPath` in a PATCH path or
/// `attributes` parameter, and so on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No resource type has that name.
    #[error("unknown resource type `{0}`")]
    UnknownResourceType(String),
    /// The URN prefix is not a schema of the resource type.
    #[error("`{schema}` is not a schema of resource type `{resource_type}`")]
    UnknownSchema {
        /// The resource type's name.
        resource_type: String,
        /// The URN as given.
        schema: String,
    },
    /// No schema of the resource type defines the attribute.
    #[error("unknown attribute `{attribute}` for resource type `{resource_type}`")]
    UnknownAttribute {
        /// The resource type's name.
        resource_type: String,
        /// The attribute as given, with its URN prefix if it had one.
        attribute: String,
    },
    /// The complex attribute has no such sub-attribute.
    #[error("attribute `{attribute}` has no sub-attribute `{sub_attribute}`")]
    UnknownSubAttribute {
        /// The attribute, canonically spelled.
        attribute: String,
        /// The sub-attribute as given.
        sub_attribute: String,
    },
    /// A sub-attribute was asked of an attribute that is not complex.
    #[error("attribute `{attribute}` is not complex and has no sub-attribute `{sub_attribute}`")]
    NotComplex {
        /// The attribute, canonically spelled.
        attribute: String,
        /// The sub-attribute as given.
        sub_attribute: String,
    },
}

/// Schemas and resource types, with the lookups made against them.
///
/// ```
/// use scim_model::schema::{SchemaRegistry, ENTERPRISE_USER};
///
/// let registry = SchemaRegistry::standard();
/// let users = registry.resource_type("user").expect("the User resource type");
/// let manager = users.resolve(Some(ENTERPRISE_USER), "MANAGER", Some("value"))?;
/// assert_eq!(manager.extension_urn(), Some(ENTERPRISE_USER));
/// assert_eq!(manager.to_string(), format!("{ENTERPRISE_USER}:manager.value"));
/// # Ok::<(), scim_model::schema::LookupError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    resource_types: Vec<Entry>,
    common: Vec<Attribute>,
}

/// A registered resource type with its schemas resolved to indexes into `schemas`, which only
/// grows, so the indexes stay valid.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    definition: ResourceType,
    core: usize,
    /// Parallel to `definition.schema_extensions`.
    extensions: Vec<usize>,
}

impl Default for SchemaRegistry {
    fn default() -> Self {
        SchemaRegistry::new()
    }
}

impl SchemaRegistry {
    /// A registry with no schema and no resource type; the common attributes (`schemas`, `id`,
    /// `externalId`, `meta`) resolve for every resource type registered later.
    pub fn new() -> Self {
        SchemaRegistry {
            schemas: Vec::new(),
            resource_types: Vec::new(),
            common: common_attributes(),
        }
    }

    /// The built-in User, Group and Enterprise User schemas with the `User` (enterprise
    /// extension, not required) and `Group` resource types.
    pub fn standard() -> Self {
        // Assembled directly, not through `register_*`, because the built-ins are known to be
        // valid (a test registers them one by one and compares) and `standard` cannot fail.
        SchemaRegistry {
            schemas: vec![user_schema(), group_schema(), enterprise_user_schema()],
            resource_types: vec![
                Entry {
                    definition: user_resource_type(),
                    core: 0,
                    extensions: vec![2],
                },
                Entry {
                    definition: group_resource_type(),
                    core: 1,
                    extensions: Vec::new(),
                },
            ],
            common: common_attributes(),
        }
    }

    /// Adds a schema, such as a custom extension.
    ///
    /// # Errors
    /// [`RegistryError::DuplicateSchema`] if a schema with the same id is registered;
    /// [`RegistryError::InvalidSchema`] if the schema breaks a rule of RFC 7643: an attribute
    /// name outside the §2.1 grammar, a name declared twice, a complex attribute without
    /// sub-attributes or nested in another (§2.3.8), or sub-attributes on a simple attribute.
    pub fn register_schema(&mut self, schema: Schema) -> Result<(), RegistryError> {
        if self.schema(schema.id()).is_some() {
            return Err(RegistryError::DuplicateSchema(schema.id().to_owned()));
        }
        validate_schema(&schema)?;
        self.schemas.push(schema);
        Ok(())
    }

    /// Adds a resource type whose core schema and extensions are already registered.
    ///
    /// # Errors
    /// [`RegistryError::DuplicateResourceType`] or [`RegistryError::DuplicateEndpoint`] if the
    /// name, id or endpoint is taken; [`RegistryError::UnregisteredSchema`] if a schema it names
    /// is not registered; [`RegistryError::InvalidResourceType`] if it names a schema twice.
    pub fn register_resource_type(
        &mut self,
        resource_type: ResourceType,
    ) -> Result<(), RegistryError> {
        let taken = |name: &str| {
            self.resource_types.iter().any(|entry| {
                entry.definition.name.eq_ignore_ascii_case(name)
                    || entry
                        .definition
                        .id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(name))
            })
        };
        for name in std::iter::once(resource_type.name.as_str()).chain(resource_type.id.as_deref())
        {
            if taken(name) {
                return Err(RegistryError::DuplicateResourceType(name.to_owned()));
            }
        }
        if self
            .resource_type_for_endpoint(&resource_type.endpoint)
            .is_some()
        {
            return Err(RegistryError::DuplicateEndpoint(resource_type.endpoint));
        }
        let index_of = |urn: &str| {
            self.schema_index(urn)
                .ok_or_else(|| RegistryError::UnregisteredSchema {
                    resource_type: resource_type.name.clone(),
                    schema: urn.to_owned(),
                })
        };
        let core = index_of(&resource_type.schema)?;
        let mut extensions = Vec::with_capacity(resource_type.schema_extensions.len());
        for extension in &resource_type.schema_extensions {
            let index = index_of(&extension.schema)?;
            if index == core || extensions.contains(&index) {
                return Err(RegistryError::InvalidResourceType {
                    resource_type: resource_type.name.clone(),
                    reason: format!("schema `{}` is named more than once", extension.schema),
                });
            }
            extensions.push(index);
        }
        self.resource_types.push(Entry {
            definition: resource_type,
            core,
            extensions,
        });
        Ok(())
    }

    /// Every registered schema, in registration order: what `/Schemas` serves.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// The schema with id `urn`, compared case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schema_index(urn).map(|index| &self.schemas[index])
    }

    fn schema_index(&self, urn: &str) -> Option<usize> {
        self.schemas.iter().position(|schema| schema.is(urn))
    }

    /// Every registered resource type, in registration order: what `/ResourceTypes` serves.
    pub fn resource_types(&self) -> impl ExactSizeIterator<Item = ResourceTypeView<'_>> + '_ {
        self.resource_types.iter().map(|entry| self.view(entry))
    }

    /// The resource type whose name or id is `name`, compared case-insensitively.
    pub fn resource_type(&self, name: &str) -> Option<ResourceTypeView<'_>> {
        self.resource_types
            .iter()
            .find(|entry| {
                entry.definition.name.eq_ignore_ascii_case(name)
                    || entry
                        .definition
                        .id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(name))
            })
            .map(|entry| self.view(entry))
    }

    /// The resource type served at `endpoint` (`/Users` or `Users`); paths compare exactly.
    pub fn resource_type_for_endpoint(&self, endpoint: &str) -> Option<ResourceTypeView<'_>> {
        let wanted = endpoint.trim_start_matches('/');
        self.resource_types
            .iter()
            .find(|entry| entry.definition.endpoint.trim_start_matches('/') == wanted)
            .map(|entry| self.view(entry))
    }

    /// The attributes of every resource (RFC 7643 §3, §3.1): `schemas`, `id`, `externalId`,
    /// `meta`.
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// Resolves an attribute reference relative to the resource type called `resource_type`;
    /// see [`ResourceTypeView::resolve`].
    ///
    /// # Errors
    /// [`LookupError::UnknownResourceType`], or any error of [`ResourceTypeView::resolve`].
    pub fn resolve(
        &self,
        resource_type: &str,
        urn: Option<&str>,
        name: &str,
        sub_attribute: Option<&str>,
    ) -> Result<ResolvedAttribute<'_>, LookupError> {
        self.resource_type(resource_type)
            .ok_or_else(|| LookupError::UnknownResourceType(resource_type.to_owned()))?
            .resolve(urn, name, sub_attribute)
    }

    fn view<'r>(&'r self, entry: &'r Entry) -> ResourceTypeView<'r> {
        ResourceTypeView {
            registry: self,
            entry,
        }
    }
}

/// A resource type together with its schemas: the handle attribute lookups go through.
///
/// Cheap to copy; get one per request with [`SchemaRegistry::resource_type`].
#[derive(Debug, Clone, Copy)]
pub struct ResourceTypeView<'r> {
    registry: &'r SchemaRegistry,
    entry: &'r Entry,
}

/// A schema extension of a resource type, resolved to its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredExtension<'r> {
    /// The extension schema.
    pub schema: &'r Schema,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

impl<'r> ResourceTypeView<'r> {
    /// The resource type definition, as served at `/ResourceTypes`.
    pub fn definition(&self) -> &'r ResourceType {
        &self.entry.definition
    }

    /// The resource type name, e.g. `User`.
    pub fn name(&self) -> &'r str {
        &self.entry.definition.name
    }

    /// The core schema.
    pub fn core_schema(&self) -> &'r Schema {
        &self.registry.schemas[self.entry.core]
    }

    /// The schema extensions, in declaration order.
    pub fn extensions(&self) -> impl ExactSizeIterator<Item = RegisteredExtension<'r>> + 'r {
        let schemas = &self.registry.schemas;
        self.entry
            .extensions
            .iter()
            .zip(&self.entry.definition.schema_extensions)
            .map(move |(&index, extension)| RegisteredExtension {
                schema: &schemas[index],
                required: extension.required,
            })
    }

    /// The core schema followed by the extensions.
    pub fn schemas(&self) -> impl Iterator<Item = &'r Schema> + 'r {
        let schemas = &self.registry.schemas;
        std::iter::once(self.entry.core)
            .chain(self.entry.extensions.iter().copied())
            .map(move |index| &schemas[index])
    }

    /// The schema of this resource type with id `urn`, compared case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&'r Schema> {
        self.schemas().find(|schema| schema.is(urn))
    }

    /// The extension schema of this resource type with id `urn`.
    pub fn extension(&self, urn: &str) -> Option<RegisteredExtension<'r>> {
        self.extensions().find(|extension| extension.schema.is(urn))
    }

    /// Whether `urn` is the core schema or an extension of this resource type.
    pub fn is_known_schema(&self, urn: &str) -> bool {
        self.schema(urn).is_some()
    }

    /// The common attributes (`schemas`, `id`, `externalId`, `meta`).
    pub fn common_attributes(&self) -> &'r [Attribute] {
        &self.registry.common
    }

    /// Resolves `[urn:]name[.sub_attribute]` (RFC 7644 §3.10), every part case-insensitively.
    ///
    /// With a URN the attribute is looked up in that schema (the common attributes count as
    /// part of the core schema). Without one it is looked up in the core schema, then in each
    /// extension in declaration order (so `employeeNumber` finds the enterprise attribute), then
    /// among the common attributes.
    ///
    /// # Errors
    /// [`LookupError::UnknownSchema`] if `urn` is not a schema of this resource type,
    /// [`LookupError::UnknownAttribute`] if no schema defines `name`,
    /// [`LookupError::NotComplex`] or [`LookupError::UnknownSubAttribute`] if `sub_attribute`
    /// does not resolve.
    pub fn resolve(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attribute: Option<&str>,
    ) -> Result<ResolvedAttribute<'r>, LookupError> {
        let (origin, attribute) = match urn {
            Some(urn) => self.resolve_qualified(urn, name)?,
            None => self
                .resolve_unqualified(name)
                .ok_or_else(|| self.unknown_attribute(None, name))?,
        };
        let sub_attribute = match sub_attribute {
            None => None,
            Some(sub) if !attribute.is_complex() => {
                return Err(LookupError::NotComplex {
                    attribute: attribute.name().to_owned(),
                    sub_attribute: sub.to_owned(),
                })
            }
            Some(sub) => Some(attribute.sub_attribute(sub).ok_or_else(|| {
                LookupError::UnknownSubAttribute {
                    attribute: attribute.name().to_owned(),
                    sub_attribute: sub.to_owned(),
                }
            })?),
        };
        Ok(ResolvedAttribute {
            origin,
            attribute,
            sub_attribute,
        })
    }

    fn resolve_qualified(
        &self,
        urn: &str,
        name: &str,
    ) -> Result<(AttributeOrigin<'r>, &'r Attribute), LookupError> {
        let core = self.core_schema();
        if core.is(urn) {
            if let Some(attribute) = core.attribute(name) {
                return Ok((AttributeOrigin::Core(core), attribute));
            }
            if let Some(attribute) = super::find_attribute(self.common_attributes(), name) {
                return Ok((AttributeOrigin::Common, attribute));
            }
            return Err(self.unknown_attribute(Some(urn), name));
        }
        let extension = self
            .extension(urn)
            .ok_or_else(|| LookupError::UnknownSchema {
                resource_type: self.name().to_owned(),
                schema: urn.to_owned(),
            })?;
        extension
            .schema
            .attribute(name)
            .map(|attribute| (AttributeOrigin::Extension(extension.schema), attribute))
            .ok_or_else(|| self.unknown_attribute(Some(urn), name))
    }

    fn resolve_unqualified(&self, name: &str) -> Option<(AttributeOrigin<'r>, &'r Attribute)> {
        let core = self.core_schema();
        if let Some(attribute) = core.attribute(name) {
            return Some((AttributeOrigin::Core(core), attribute));
        }
        for extension in self.extensions() {
            if let Some(attribute) = extension.schema.attribute(name) {
                return Some((AttributeOrigin::Extension(extension.schema), attribute));
            }
        }
        super::find_attribute(self.common_attributes(), name)
            .map(|attribute| (AttributeOrigin::Common, attribute))
    }

    fn unknown_attribute(&self, urn: Option<&str>, name: &str) -> LookupError {
        LookupError::UnknownAttribute {
            resource_type: self.name().to_owned(),
            attribute: match urn {
                Some(urn) => format!("{urn}:{name}"),
                None => name.to_owned(),
            },
        }
    }

    /// Splits a schema URN of this resource type off the front of `path`:
    /// `urn:…:enterprise:2.0:User:manager.value` gives the enterprise schema and
    /// `manager.value`; a path that is exactly a URN gives the schema and `""`; a path with no
    /// known URN prefix is returned whole. The longest matching URN wins.
    pub fn split_schema_prefix<'p>(&self, path: &'p str) -> (Option<&'r Schema>, &'p str) {
        let mut best: Option<(&'r Schema, &'p str)> = None;
        for schema in self.schemas() {
            let id = schema.id();
            let Some(head) = path.get(..id.len()) else {
                continue;
            };
            if !head.eq_ignore_ascii_case(id) {
                continue;
            }
            let rest = match path.get(id.len()..) {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(rest) => rest,
                    None => continue,
                },
                None => continue,
            };
            if best.is_none_or(|(current, _)| current.id().len() < id.len()) {
                best = Some((schema, rest));
            }
        }
        match best {
            Some((schema, rest)) => (Some(schema), rest),
            None => (None, path),
        }
    }

    /// The schema of this resource type that `urn` and `name` spell together, as
    /// `urn ":" name`.
    ///
    /// A parser that splits `[urn ":"] name` at the last colon reads a bare extension URN,
    /// such as a PATCH path `urn:…:enterprise:2.0:User`, as URN `urn:…:enterprise:2.0` and name
    /// `User`; this recognises it without allocating.
    pub fn schema_path(&self, urn: Option<&str>, name: &str) -> Option<&'r Schema> {
        self.schemas().find(|schema| {
            let id = schema.id();
            match urn {
                None => id.eq_ignore_ascii_case(name),
                Some(urn) => {
                    id.len() == urn.len() + 1 + name.len()
                        && id
                            .get(..urn.len())
                            .is_some_and(|head| head.eq_ignore_ascii_case(urn))
                        && id.as_bytes().get(urn.len()) == Some(&b':')
                        && id
                            .get(urn.len() + 1..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(name))
                }
            }
        })
    }
}

/// Where a resolved attribute is defined, which says where its value lives in a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeOrigin<'r> {
    /// A common attribute (`schemas`, or one of RFC 7643 §3.1): a top-level member of every
    /// resource.
    Common,
    /// The core schema: a top-level member of the resource.
    Core(&'r Schema),
    /// An extension schema: a member of the object under the extension's URN (RFC 7643 §3.3).
    Extension(&'r Schema),
}

/// An attribute reference resolved against a resource type's schemas.
///
/// Its names are the canonical spellings from the schema, whatever case the reference used;
/// use them to read a resource's JSON, whose keys may themselves be in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedAttribute<'r> {
    origin: AttributeOrigin<'r>,
    attribute: &'r Attribute,
    sub_attribute: Option<&'r Attribute>,
}

impl<'r> ResolvedAttribute<'r> {
    /// Where the attribute is defined.
    pub fn origin(&self) -> AttributeOrigin<'r> {
        self.origin
    }

    /// The schema defining the attribute; `None` for a common attribute.
    pub fn schema(&self) -> Option<&'r Schema> {
        match self.origin {
            AttributeOrigin::Common => None,
            AttributeOrigin::Core(schema) | AttributeOrigin::Extension(schema) => Some(schema),
        }
    }

    /// The URN of the extension whose object holds the value, canonically spelled; `None` for
    /// core and common attributes, which are top-level members.
    pub fn extension_urn(&self) -> Option<&'r str> {
        match self.origin {
            AttributeOrigin::Extension(schema) => Some(schema.id()),
            AttributeOrigin::Common | AttributeOrigin::Core(_) => None,
        }
    }

    /// Whether the attribute is one of the common attributes (`schemas`, `id`, `externalId`,
    /// `meta`).
    pub fn is_common(&self) -> bool {
        self.origin == AttributeOrigin::Common
    }

    /// The (top-level) attribute.
    pub fn attribute(&self) -> &'r Attribute {
        self.attribute
    }

    /// The sub-attribute, when the reference named one.
    pub fn sub_attribute(&self) -> Option<&'r Attribute> {
        self.sub_attribute
    }

    /// The attribute the reference designates: the sub-attribute if there is one, else the
    /// attribute. Its characteristics (`caseExact`, `mutability`, ...) are the ones that apply.
    pub fn target(&self) -> &'r Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }

    /// The attribute's canonical name.
    pub fn name(&self) -> &'r str {
        self.attribute.name()
    }

    /// The sub-attribute's canonical name.
    pub fn sub_name(&self) -> Option<&'r str> {
        self.sub_attribute.map(Attribute::name)
    }
}

/// Prints the canonical reference: `name.givenName`, or `urn:…:enterprise:2.0:User:manager.value`
/// for an extension attribute.
impl fmt::Display for ResolvedAttribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = self.extension_urn() {
            write!(f, "{urn}:")?;
        }
        f.write_str(self.name())?;
        if let Some(sub) = self.sub_name() {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

fn validate_schema(schema: &Schema) -> Result<(), RegistryError> {
    let invalid = |reason: String| RegistryError::InvalidSchema {
        schema: schema.id().to_owned(),
        reason,
    };
    if schema.id().trim().is_empty() {
        return Err(invalid("the schema id is empty".to_owned()));
    }
    check_names(schema.attributes(), None).map_err(invalid)?;
    for attribute in schema.attributes() {
        let subs = attribute.sub_attributes();
        match (attribute.is_complex(), subs.is_empty()) {
            (true, true) => {
                return Err(invalid(format!(
                    "complex attribute `{}` has no sub-attributes",
                    attribute.name()
                )))
            }
            (false, false) => {
                return Err(invalid(format!(
                    "attribute `{}` of type {} has sub-attributes; only complex attributes may",
                    attribute.name(),
                    attribute.attribute_type()
                )))
            }
            _ => {}
        }
        check_names(subs, Some(attribute.name())).map_err(invalid)?;
        for sub in subs {
            if sub.is_complex() || !sub.sub_attributes().is_empty() {
                return Err(invalid(format!(
                    "sub-attribute `{}.{}` has sub-attributes; complex attributes cannot nest \
                     (RFC 7643 §2.3.8)",
                    attribute.name(),
                    sub.name()
                )));
            }
        }
    }
    Ok(())
}

/// Checks the names of one level of attributes: the §2.1 grammar, and no name twice.
fn check_names(attributes: &[Attribute], parent: Option<&str>) -> Result<(), String> {
    let full = |name: &str| match parent {
        Some(parent) => format!("{parent}.{name}"),
        None => name.to_owned(),
    };
    for (index, attribute) in attributes.iter().enumerate() {
        let name = attribute.name();
        if !is_attribute_name(name) {
            return Err(format!(
                "`{}` is not a valid attribute name (RFC 7643 §2.1)",
                full(name)
            ));
        }
        if attributes[..index]
            .iter()
            .any(|earlier| earlier.name().eq_ignore_ascii_case(name))
        {
            return Err(format!("attribute `{}` is declared twice", full(name)));
        }
    }
    Ok(())
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7643 §2.1), and
/// the `$ref` sub-attribute of §2.4.
pub(crate) fn is_attribute_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_is_what_registering_the_builtins_gives() {
        // `standard` skips validation; this proves it has nothing to skip.
        let mut registry = SchemaRegistry::new();
        registry.register_schema(user_schema()).unwrap();
        registry.register_schema(group_schema()).unwrap();
        registry.register_schema(enterprise_user_schema()).unwrap();
        registry
            .register_resource_type(user_resource_type())
            .unwrap();
        registry
            .register_resource_type(group_resource_type())
            .unwrap();
        assert_eq!(registry, SchemaRegistry::standard());
    }

    #[test]
    fn attribute_names_follow_the_rfc_7643_section_2_1_grammar() {
        for good in ["userName", "x509Certificates", "a-b_c", "$ref", "Z"] {
            assert!(is_attribute_name(good), "{good}");
        }
        for bad in ["", "1st", "_x", "user name", "a.b", "urn:x", "$other", "é"] {
            assert!(!is_attribute_name(bad), "{bad}");
        }
    }
}
