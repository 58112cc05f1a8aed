//! Schemas and resource types declared as data by an operator, in the RFC's own formats:
//! RFC 7643 §7 Schema documents and §6 ResourceType documents; and which attributes to index,
//! in a small document of scimd's own ([`INDEXES`]).
//!
//! Reading is strict, because a typo in a declaration would otherwise lose data silently: an
//! unknown key, a characteristic of the wrong JSON type, an unknown attribute type, a name
//! outside the §2.1 grammar, a duplicate URN or a clash with a built-in schema is an error that
//! names the document, the JSON pointer (RFC 6901) into it and what is wrong.
//!
//! ```
//! use scim_model::schema::{Declarations, SchemaRegistry};
//!
//! let mut declared = Declarations::new();
//! declared.add_document("hr.json", &serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
//!     "id": "urn:example:params:scim:schemas:extension:hr:2.0:User",
//!     "name": "HR",
//!     "attributes": [{"name": "costCentre", "type": "string"}]
//! }))?;
//! declared.add_document("user.json", &serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
//!     "name": "User",
//!     "endpoint": "/Users",
//!     "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
//!     "schemaExtensions": [
//!         {"schema": "urn:example:params:scim:schemas:extension:hr:2.0:User", "required": false}
//!     ]
//! }))?;
//! let registry = declared.apply(&SchemaRegistry::standard())?;
//! let users = registry.resource_type("User").ok_or("no User")?;
//! assert!(users.is_known_schema("urn:example:params:scim:schemas:extension:hr:2.0:User"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde_json::{Map, Value};

use super::{
    Attribute, AttributeType, ResolvedAttribute, ResourceType, ResourceTypeView, Schema,
    SchemaExtension, SchemaRegistry, Uniqueness, RESOURCE_TYPE, SCHEMA,
};

/// The most documents one set of declarations takes.
pub const MAX_DOCUMENTS: usize = 256;

/// The most attributes (sub-attributes included) one declared schema may have.
pub const MAX_ATTRIBUTES: usize = 1_000;

/// A declaration that cannot be taken: which document, where in it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationError {
    /// The document, as the caller named it (a file name).
    pub source: String,
    /// A JSON pointer (RFC 6901) to the offending value; empty for the whole document.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DeclarationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(the document)"
        } else {
            &self.pointer
        };
        write!(f, "{} at {pointer}: {}", self.source, self.message)
    }
}

impl std::error::Error for DeclarationError {}

/// The `schemas` URN of a document asking for attributes to be indexed: not an RFC format
/// but scimd's own, because RFC 7643 has no characteristic for it. Its keys are `schemas`,
/// `resourceType` (a served type's name) and `attributes` (attribute paths as filters write
/// them, at most [`MAX_INDEXED`]).
pub const INDEXES: &str = "urn:scimd:params:Indexes";

/// The most attributes one [`INDEXES`] document names.
pub const MAX_INDEXED: usize = 64;

/// Schemas, resource types and index requests read from documents, to be applied to a
/// registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declarations {
    schemas: Vec<(String, Schema)>,
    resource_types: Vec<(String, ResourceType)>,
    /// Per [`INDEXES`] document: its source, the resource type and the attribute paths.
    indexes: Vec<(String, String, Vec<String>)>,
}

/// Where an error is: the document's name and a JSON pointer.
struct At<'a> {
    source: &'a str,
    pointer: String,
}

impl<'a> At<'a> {
    fn error(&self, message: impl Into<String>) -> DeclarationError {
        DeclarationError {
            source: self.source.to_owned(),
            pointer: self.pointer.clone(),
            message: message.into(),
        }
    }

    fn child(&self, token: impl fmt::Display) -> At<'a> {
        // RFC 6901 §3: `~` and `/` in a reference token are escaped.
        let token = token.to_string().replace('~', "~0").replace('/', "~1");
        At {
            source: self.source,
            pointer: format!("{}/{token}", self.pointer),
        }
    }
}

const SCHEMA_KEYS: &[&str] = &["schemas", "id", "name", "description", "attributes", "meta"];
const RESOURCE_TYPE_KEYS: &[&str] = &[
    "schemas",
    "id",
    "name",
    "endpoint",
    "description",
    "schema",
    "schemaExtensions",
    "meta",
];
const EXTENSION_KEYS: &[&str] = &["schema", "required"];
const ATTRIBUTE_KEYS: &[&str] = &[
    "name",
    "type",
    "subAttributes",
    "multiValued",
    "description",
    "required",
    "canonicalValues",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
    "referenceTypes",
];
const TYPES: &[&str] = &[
    "string",
    "boolean",
    "decimal",
    "integer",
    "dateTime",
    "binary",
    "reference",
    "complex",
];
const MUTABILITIES: &[&str] = &["readOnly", "readWrite", "immutable", "writeOnly"];
const RETURNEDS: &[&str] = &["always", "never", "default", "request"];
const UNIQUENESSES: &[&str] = &["none", "server", "global"];

impl Declarations {
    /// No declarations.
    pub fn new() -> Self {
        Declarations::default()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.resource_types.is_empty() && self.indexes.is_empty()
    }

    /// The attributes of `resource_type` that [`INDEXES`] documents ask to index, resolved
    /// against it (a registry [`Declarations::apply`] made, so each one resolves).
    pub fn indexed<'r>(&self, resource_type: ResourceTypeView<'r>) -> Vec<ResolvedAttribute<'r>> {
        self.indexes
            .iter()
            .filter(|(_, name, _)| name.eq_ignore_ascii_case(resource_type.name()))
            .flat_map(|(_, _, paths)| paths)
            .filter_map(|path| index_target(resource_type, path).ok())
            .collect()
    }

    /// The declared schemas, in the order they were added.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter().map(|(_, schema)| schema)
    }

    /// The declared resource types, in the order they were added.
    pub fn resource_types(&self) -> impl Iterator<Item = &ResourceType> {
        self.resource_types
            .iter()
            .map(|(_, resource_type)| resource_type)
    }

    /// Reads one document, a §7 Schema or a §6 ResourceType (told apart by its `schemas`);
    /// `source` names it in errors.
    ///
    /// # Errors
    /// A [`DeclarationError`] for a document that is neither, breaks the format, or declares a
    /// URN or resource type already declared.
    pub fn add_document(&mut self, source: &str, document: &Value) -> Result<(), DeclarationError> {
        let at = At {
            source,
            pointer: String::new(),
        };
        if self.schemas.len() + self.resource_types.len() >= MAX_DOCUMENTS {
            return Err(at.error(format!("more than {MAX_DOCUMENTS} documents are declared")));
        }
        let object = document
            .as_object()
            .ok_or_else(|| at.error("a declaration is a JSON object"))?;
        let kinds = object
            .get("schemas")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                at.child("schemas").error(format!(
                    "`schemas` must be an array naming `{SCHEMA}` or `{RESOURCE_TYPE}`"
                ))
            })?;
        let names = |urn: &str| kinds.iter().any(|kind| kind.as_str() == Some(urn));
        match (names(SCHEMA), names(RESOURCE_TYPE), names(INDEXES)) {
            (true, false, false) => self.add_schema(&at, object),
            (false, true, false) => self.add_resource_type(&at, object),
            (false, false, true) => self.add_indexes(&at, object),
            _ => Err(at.child("schemas").error(format!(
                "`schemas` must name exactly one of `{SCHEMA}` (a schema), `{RESOURCE_TYPE}` \
                 (a resource type) and `{INDEXES}` (attributes to index)"
            ))),
        }
    }

    fn add_schema(
        &mut self,
        at: &At<'_>,
        object: &Map<String, Value>,
    ) -> Result<(), DeclarationError> {
        known_keys(at, object, SCHEMA_KEYS)?;
        let id = required_string(at, object, "id")?;
        if !id.to_ascii_lowercase().starts_with("urn:") {
            return Err(at
                .child("id")
                .error(format!("the schema id `{id}` is not a URN")));
        }
        if let Some((other, _)) = self.schemas.iter().find(|(_, s)| s.is(id)) {
            return Err(at
                .child("id")
                .error(format!("schema `{id}` is already declared in {other}")));
        }
        optional_string(at, object, "name")?;
        optional_string(at, object, "description")?;
        let attributes = object
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                at.child("attributes")
                    .error("`attributes` must be an array")
            })?;
        let mut count = 0;
        check_attributes(&at.child("attributes"), attributes, 0, &mut count)?;
        let schema: Schema = serde_json::from_value(Value::Object(object.clone()))
            .map_err(|error| at.error(error.to_string()))?;
        self.schemas.push((at.source.to_owned(), schema));
        Ok(())
    }

    fn add_indexes(
        &mut self,
        at: &At<'_>,
        object: &Map<String, Value>,
    ) -> Result<(), DeclarationError> {
        known_keys(at, object, &["schemas", "resourceType", "attributes"])?;
        let resource_type = required_string(at, object, "resourceType")?;
        let paths = object
            .get("attributes")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty() && items.iter().all(Value::is_string))
            .ok_or_else(|| {
                at.child("attributes")
                    .error("`attributes` must be a non-empty array of attribute paths")
            })?;
        if paths.len() > MAX_INDEXED {
            return Err(at.child("attributes").error(format!(
                "more than {MAX_INDEXED} attributes to index in one document"
            )));
        }
        let paths = paths
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        self.indexes
            .push((at.source.to_owned(), resource_type.to_owned(), paths));
        Ok(())
    }

    fn add_resource_type(
        &mut self,
        at: &At<'_>,
        object: &Map<String, Value>,
    ) -> Result<(), DeclarationError> {
        known_keys(at, object, RESOURCE_TYPE_KEYS)?;
        let name = required_string(at, object, "name")?;
        let endpoint = required_string(at, object, "endpoint")?;
        required_string(at, object, "schema")?;
        optional_string(at, object, "id")?;
        optional_string(at, object, "description")?;
        if !endpoint.starts_with('/') || endpoint.len() < 2 || endpoint[1..].contains('/') {
            return Err(at.child("endpoint").error(format!(
                "the endpoint `{endpoint}` must be one path segment, like `/Agents`"
            )));
        }
        if let Some(extensions) = object.get("schemaExtensions") {
            let extensions = extensions.as_array().ok_or_else(|| {
                at.child("schemaExtensions")
                    .error("`schemaExtensions` must be an array")
            })?;
            for (index, extension) in extensions.iter().enumerate() {
                let at = at.child("schemaExtensions");
                let at = at.child(index);
                let extension = extension
                    .as_object()
                    .ok_or_else(|| at.error("a schema extension is an object"))?;
                known_keys(&at, extension, EXTENSION_KEYS)?;
                required_string(&at, extension, "schema")?;
                match extension.get("required") {
                    Some(Value::Bool(_)) => {}
                    _ => {
                        return Err(at
                            .child("required")
                            .error("`required` must be true or false"))
                    }
                }
            }
        }
        if let Some((other, _)) = self.resource_types.iter().find(|(_, rt)| {
            rt.name.eq_ignore_ascii_case(name) || rt.endpoint.eq_ignore_ascii_case(endpoint)
        }) {
            return Err(at.child("name").error(format!(
                "resource type `{name}` or endpoint `{endpoint}` is already declared in {other}"
            )));
        }
        let resource_type: ResourceType = serde_json::from_value(Value::Object(object.clone()))
            .map_err(|error| at.error(error.to_string()))?;
        self.resource_types
            .push((at.source.to_owned(), resource_type));
        Ok(())
    }

    /// A registry with everything of `base` and these declarations: the declared schemas; for
    /// each declared resource type that `base` has (same name, endpoint and core schema) the
    /// declared `schemaExtensions` added to its own; and each resource type `base` lacks, as a
    /// new type with an endpoint of its own, after the built-in ones in declaration order.
    ///
    /// # Errors
    /// A [`DeclarationError`] for a schema that clashes with one of `base` or breaks a rule of
    /// RFC 7643 (see [`SchemaRegistry::register_schema`]); a resource type that names an
    /// unknown schema or redefines a built-in one; a new type whose name or endpoint is not a
    /// plain word, is reserved (`/Schemas`, `/Bulk`, …) or taken, or whose core schema is built
    /// in or another type's.
    pub fn apply(&self, base: &SchemaRegistry) -> Result<SchemaRegistry, DeclarationError> {
        let mut registry = SchemaRegistry::new();
        for schema in base.schemas() {
            registry
                .register_schema(schema.clone())
                .map_err(|error| internal(&error))?;
        }
        for (source, schema) in &self.schemas {
            let at = At {
                source,
                pointer: "/id".to_owned(),
            };
            if base.schema(schema.id()).is_some() {
                return Err(at.error(format!(
                    "`{}` is a built-in schema; declare an extension under a URN of your own",
                    schema.id()
                )));
            }
            registry
                .register_schema(schema.clone())
                .map_err(|error| at.error(error.to_string()))?;
        }
        let mut extended: Vec<(Option<&str>, ResourceType)> = base
            .resource_types()
            .map(|rt| (None, rt.definition().clone()))
            .collect();
        for (source, declared) in &self.resource_types {
            let at = At {
                source,
                pointer: String::new(),
            };
            let Some((_, served)) = extended
                .iter_mut()
                .find(|(_, rt)| rt.name.eq_ignore_ascii_case(&declared.name))
            else {
                check_new_type(&at, declared, &extended, &registry, base)?;
                let mut new = declared.clone();
                new.id = Some(declared.name.clone());
                new.schema_extensions = Vec::new();
                new.meta = None;
                extended.push((Some(source.as_str()), new));
                let Some((_, served)) = extended.last_mut() else {
                    continue;
                };
                add_extensions(&at, declared, served, &registry)?;
                continue;
            };
            if !served.endpoint.eq_ignore_ascii_case(&declared.endpoint) {
                return Err(at.child("endpoint").error(format!(
                    "`{}` is served at `{}`, not `{}`",
                    served.name, served.endpoint, declared.endpoint
                )));
            }
            if !served.schema.eq_ignore_ascii_case(&declared.schema) {
                return Err(at.child("schema").error(format!(
                    "the core schema of `{}` is `{}`, not `{}`",
                    served.name, served.schema, declared.schema
                )));
            }
            add_extensions(&at, declared, served, &registry)?;
        }
        for (_, resource_type) in extended {
            registry
                .register_resource_type(resource_type)
                .map_err(|error| internal(&error))?;
        }
        for (source, name, paths) in &self.indexes {
            let at = At {
                source,
                pointer: String::new(),
            };
            let resource_type = registry.resource_type(name).ok_or_else(|| {
                at.child("resourceType")
                    .error(format!("`{name}` is not a served resource type"))
            })?;
            for (index, path) in paths.iter().enumerate() {
                index_target(resource_type, path)
                    .map_err(|message| at.child("attributes").child(index).error(message))?;
            }
        }
        Ok(registry)
    }
}

/// The attribute `path` names in `resource_type`, if the attribute–value index can keep it:
/// its values are strings, booleans, dateTimes or references, a complex attribute's named by a
/// sub-attribute.
fn index_target<'r>(
    resource_type: ResourceTypeView<'r>,
    path: &str,
) -> Result<ResolvedAttribute<'r>, String> {
    let attr = match scim_filter::parse_path(path) {
        Ok(scim_filter::PatchPath::Attr(attr)) => attr,
        _ => return Err(format!("`{path}` is not an attribute path")),
    };
    let resolved = resource_type
        .resolve(attr.urn.as_deref(), &attr.name, attr.sub_attr.as_deref())
        .map_err(|error| format!("`{path}`: {error}"))?;
    match resolved.target().attribute_type() {
        AttributeType::String
        | AttributeType::Boolean
        | AttributeType::DateTime
        | AttributeType::Reference => Ok(resolved),
        AttributeType::Complex => Err(format!(
            "`{path}` is complex; index one of its sub-attributes, such as `{path}.value`"
        )),
        other => Err(format!(
            "`{path}` holds {} values; the index keeps strings, booleans, dateTimes and \
             references",
            other.as_str()
        )),
    }
}

/// Adds the `schemaExtensions` of `declared` to `served`.
fn add_extensions(
    at: &At<'_>,
    declared: &ResourceType,
    served: &mut ResourceType,
    registry: &SchemaRegistry,
) -> Result<(), DeclarationError> {
    for (index, extension) in declared.schema_extensions.iter().enumerate() {
        let at = at.child("schemaExtensions");
        let at = at.child(index).child("schema");
        if registry.schema(&extension.schema).is_none() {
            return Err(at.error(format!(
                "`{}` is neither declared nor built in",
                extension.schema
            )));
        }
        if served.schema.eq_ignore_ascii_case(&extension.schema)
            || served
                .schema_extensions
                .iter()
                .any(|e| e.schema.eq_ignore_ascii_case(&extension.schema))
        {
            return Err(at.error(format!(
                "`{}` is already a schema of `{}`",
                extension.schema, served.name
            )));
        }
        served.schema_extensions.push(SchemaExtension {
            schema: extension.schema.clone(),
            required: extension.required,
        });
    }
    Ok(())
}

/// Paths below the base URL that are not resource endpoints (RFC 7644 §3.2, §3.7, §3.11,
/// §4): no declared type may take one.
const RESERVED_ENDPOINTS: &[&str] = &[
    "/ServiceProviderConfig",
    "/ResourceTypes",
    "/Schemas",
    "/Bulk",
    "/Me",
    "/.search",
];

/// Checks a resource type that `base` lacks, before it joins `served` (every type so far):
/// its name and endpoint are plain, new and not reserved, and its core schema is a declared
/// one that no other type uses.
fn check_new_type(
    at: &At<'_>,
    declared: &ResourceType,
    served: &[(Option<&str>, ResourceType)],
    registry: &SchemaRegistry,
    base: &SchemaRegistry,
) -> Result<(), DeclarationError> {
    let plain = |text: &str| {
        text.starts_with(|c: char| c.is_ascii_alphabetic())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && text.len() <= 64
    };
    if !plain(&declared.name) {
        return Err(at.child("name").error(format!(
            "the resource type name `{}` must be a letter followed by up to 63 letters, digits, \
             `_` or `-`",
            declared.name
        )));
    }
    let segment = declared.endpoint.strip_prefix('/').unwrap_or_default();
    if !plain(segment) {
        return Err(at.child("endpoint").error(format!(
            "the endpoint `{}` must be `/` and a letter followed by up to 63 letters, digits, \
             `_` or `-`",
            declared.endpoint
        )));
    }
    if let Some(reserved) = RESERVED_ENDPOINTS
        .iter()
        .find(|reserved| reserved.eq_ignore_ascii_case(&declared.endpoint))
    {
        return Err(at
            .child("endpoint")
            .error(format!("`{reserved}` is a SCIM endpoint of its own")));
    }
    if let Some((_, other)) = served
        .iter()
        .find(|(_, rt)| rt.endpoint.eq_ignore_ascii_case(&declared.endpoint))
    {
        return Err(at.child("endpoint").error(format!(
            "`{}` is already the endpoint of `{}`",
            declared.endpoint, other.name
        )));
    }
    let at = at.child("schema");
    if base.schema(&declared.schema).is_some() {
        return Err(at.error(format!(
            "`{}` is a built-in schema; a new resource type needs a core schema of its own",
            declared.schema
        )));
    }
    if registry.schema(&declared.schema).is_none() {
        return Err(at.error(format!("`{}` is not declared", declared.schema)));
    }
    if let Some((_, other)) = served.iter().find(|(_, rt)| {
        rt.schema.eq_ignore_ascii_case(&declared.schema)
            || rt
                .schema_extensions
                .iter()
                .any(|e| e.schema.eq_ignore_ascii_case(&declared.schema))
    }) {
        return Err(at.error(format!(
            "`{}` is already a schema of `{}`",
            declared.schema, other.name
        )));
    }
    Ok(())
}

/// The unique attribute of a declared resource type, the one the store keeps as its name: the
/// first attribute of its core schema with `uniqueness: server` (which loading allows on
/// singular, top-level string attributes only); `None` for a type without one. (For User it
/// is `userName`; the built-in types keep their names by rules of their own.)
pub fn unique_attribute(resource_type: ResourceTypeView<'_>) -> Option<&str> {
    resource_type
        .core_schema()
        .attributes()
        .iter()
        .find(|attribute| {
            attribute.uniqueness() == Uniqueness::Server
                && attribute.attribute_type() == AttributeType::String
                && !attribute.is_multi_valued()
        })
        .map(Attribute::name)
}

/// An error registering what `base` already held: not the declarations' fault.
fn internal(error: &super::RegistryError) -> DeclarationError {
    DeclarationError {
        source: "(built-in)".to_owned(),
        pointer: String::new(),
        message: error.to_string(),
    }
}

fn known_keys(
    at: &At<'_>,
    object: &Map<String, Value>,
    known: &[&str],
) -> Result<(), DeclarationError> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(at.child(key).error(format!(
            "unknown key `{key}`; expected one of {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn required_string<'v>(
    at: &At<'_>,
    object: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v str, DeclarationError> {
    match object.get(key) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value),
        _ => Err(at
            .child(key)
            .error(format!("`{key}` must be a non-empty string"))),
    }
}

fn optional_string(
    at: &At<'_>,
    object: &Map<String, Value>,
    key: &str,
) -> Result<(), DeclarationError> {
    match object.get(key) {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(at.child(key).error(format!("`{key}` must be a string"))),
    }
}

fn one_of(
    at: &At<'_>,
    object: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<(), DeclarationError> {
    match object.get(key) {
        None => Ok(()),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => Ok(()),
        Some(other) => Err(at.child(key).error(format!(
            "`{key}` is {other}; expected one of {}",
            allowed.join(", ")
        ))),
    }
}

fn check_attributes(
    at: &At<'_>,
    attributes: &[Value],
    depth: usize,
    count: &mut usize,
) -> Result<(), DeclarationError> {
    for (index, attribute) in attributes.iter().enumerate() {
        *count += 1;
        if *count > MAX_ATTRIBUTES {
            return Err(at.error(format!("more than {MAX_ATTRIBUTES} attributes")));
        }
        let at = at.child(index);
        let object = attribute
            .as_object()
            .ok_or_else(|| at.error("an attribute is a JSON object"))?;
        known_keys(&at, object, ATTRIBUTE_KEYS)?;
        let name = required_string(&at, object, "name")?;
        if !super::registry::is_attribute_name(name) {
            return Err(at.child("name").error(format!(
                "`{name}` is not a valid attribute name (RFC 7643 §2.1)"
            )));
        }
        if attributes[..index].iter().any(|earlier| {
            earlier
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|earlier| earlier.eq_ignore_ascii_case(name))
        }) {
            return Err(at
                .child("name")
                .error(format!("attribute `{name}` is declared twice")));
        }
        one_of(&at, object, "type", TYPES)?;
        one_of(&at, object, "mutability", MUTABILITIES)?;
        one_of(&at, object, "returned", RETURNEDS)?;
        one_of(&at, object, "uniqueness", UNIQUENESSES)?;
        match object.get("uniqueness").and_then(Value::as_str) {
            Some("global") => {
                return Err(at.child("uniqueness").error(
                    "uniqueness `global` (across every organisation) is not enforced; declare \
                     `server` (per organisation) or `none`",
                ))
            }
            Some("server") => {
                let singular_string = depth == 0
                    && matches!(
                        object.get("type").and_then(Value::as_str),
                        None | Some("string")
                    )
                    && object.get("multiValued") != Some(&Value::Bool(true));
                if !singular_string {
                    return Err(at.child("uniqueness").error(
                        "uniqueness `server` is enforced on a singular, top-level string \
                         attribute only",
                    ));
                }
            }
            _ => {}
        }
        for key in ["multiValued", "required", "caseExact"] {
            if object.get(key).is_some_and(|value| !value.is_boolean()) {
                return Err(at
                    .child(key)
                    .error(format!("`{key}` must be true or false")));
            }
        }
        optional_string(&at, object, "description")?;
        for key in ["canonicalValues", "referenceTypes"] {
            if let Some(value) = object.get(key) {
                let strings = value
                    .as_array()
                    .is_some_and(|items| items.iter().all(Value::is_string));
                if !strings {
                    return Err(at
                        .child(key)
                        .error(format!("`{key}` must be an array of strings")));
                }
            }
        }
        let complex = object.get("type").and_then(Value::as_str) == Some("complex");
        match (complex, object.get("subAttributes")) {
            (true, Some(Value::Array(subs))) if !subs.is_empty() => {
                if depth > 0 {
                    return Err(at
                        .child("type")
                        .error("a sub-attribute cannot be complex (RFC 7643 §2.3.8)"));
                }
                check_attributes(&at.child("subAttributes"), subs, depth + 1, count)?;
            }
            (true, _) => {
                return Err(at
                    .child("subAttributes")
                    .error("a complex attribute needs a non-empty `subAttributes` array"))
            }
            (false, Some(_)) => {
                return Err(at
                    .child("subAttributes")
                    .error("only a complex attribute has `subAttributes`"))
            }
            (false, None) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::USER;

    const HR: &str = "urn:example:params:scim:schemas:extension:hr:2.0:User";

    fn hr_schema() -> Value {
        json!({
            "schemas": [SCHEMA],
            "id": HR,
            "name": "HR",
            "attributes": [
                {"name": "costCentre", "type": "string"},
                {"name": "badge", "type": "integer"},
                {"name": "clearances", "type": "string", "multiValued": true},
                {"name": "office", "type": "complex", "subAttributes": [
                    {"name": "building", "type": "string"},
                    {"name": "floor", "type": "integer"}
                ]}
            ]
        })
    }

    fn user_type(extensions: Value) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE],
            "name": "User",
            "endpoint": "/Users",
            "schema": USER,
            "schemaExtensions": extensions
        })
    }

    /// The error of adding `document` to declarations holding the HR schema.
    fn add_error(document: Value) -> DeclarationError {
        let mut declared = Declarations::new();
        declared.add_document("hr.json", &hr_schema()).unwrap();
        declared.add_document("bad.json", &document).unwrap_err()
    }

    fn apply_error(documents: &[Value]) -> DeclarationError {
        let mut declared = Declarations::new();
        for (index, document) in documents.iter().enumerate() {
            declared
                .add_document(&format!("{index}.json"), document)
                .unwrap();
        }
        declared.apply(&SchemaRegistry::standard()).unwrap_err()
    }

    fn with_attribute(attribute: Value) -> Value {
        let mut schema = hr_schema();
        schema["id"] = json!("urn:example:other");
        schema["attributes"] = json!([attribute]);
        schema
    }

    // RFC 7643 §6 and §7: an extension declared as data joins the User resource type.
    #[test]
    fn a_declared_extension_joins_its_resource_type() {
        let mut declared = Declarations::new();
        declared.add_document("hr.json", &hr_schema()).unwrap();
        declared
            .add_document(
                "user.json",
                &user_type(json!([{"schema": HR, "required": true}])),
            )
            .unwrap();
        let registry = declared.apply(&SchemaRegistry::standard()).unwrap();
        let users = registry.resource_type("User").unwrap();
        let extension = users.extension(HR).unwrap();
        assert!(extension.required);
        // The built-in extension stays.
        assert!(users.is_known_schema(crate::schema::ENTERPRISE_USER));
        assert!(registry.resource_type("Group").is_some());
        assert!(users.resolve(Some(HR), "office", Some("floor")).is_ok());
    }

    #[test]
    fn every_load_error_names_the_file_and_the_pointer() {
        let cases = [
            (json!([1]), "", "JSON object"),
            (json!({"id": "urn:x"}), "/schemas", "`schemas`"),
            (
                json!({"schemas": [SCHEMA, RESOURCE_TYPE]}),
                "/schemas",
                "exactly one",
            ),
            (
                json!({"schemas": [SCHEMA], "id": "urn:x", "attributes": [], "colour": 1}),
                "/colour",
                "unknown key",
            ),
            (
                json!({"schemas": [SCHEMA], "id": "not-a-urn", "attributes": []}),
                "/id",
                "not a URN",
            ),
            (
                json!({"schemas": [SCHEMA], "id": HR, "attributes": []}),
                "/id",
                "already declared in hr.json",
            ),
            (
                with_attribute(json!({"name": "x", "type": "strin"})),
                "/attributes/0/type",
                "expected one of",
            ),
            (
                with_attribute(json!({"name": "x", "mutabilty": "readOnly"})),
                "/attributes/0/mutabilty",
                "unknown key",
            ),
            (
                with_attribute(json!({"name": "9lives"})),
                "/attributes/0/name",
                "§2.1",
            ),
            (
                with_attribute(json!({"name": "x", "multiValued": "yes"})),
                "/attributes/0/multiValued",
                "true or false",
            ),
            (
                with_attribute(json!({"name": "x", "type": "complex"})),
                "/attributes/0/subAttributes",
                "non-empty",
            ),
            (
                with_attribute(json!({"name": "x", "type": "complex", "subAttributes": [
                    {"name": "y", "type": "complex", "subAttributes": [{"name": "z"}]}
                ]})),
                "/attributes/0/subAttributes/0/type",
                "§2.3.8",
            ),
            (
                with_attribute(json!({"name": "x", "subAttributes": [{"name": "y"}]})),
                "/attributes/0/subAttributes",
                "only a complex",
            ),
            (
                with_attribute(json!({"name": "x", "uniqueness": "global"})),
                "/attributes/0/uniqueness",
                "not enforced",
            ),
            (
                with_attribute(json!({"name": "x", "type": "integer", "uniqueness": "server"})),
                "/attributes/0/uniqueness",
                "singular, top-level string",
            ),
            (
                with_attribute(json!({"name": "x", "multiValued": true, "uniqueness": "server"})),
                "/attributes/0/uniqueness",
                "singular, top-level string",
            ),
            (
                with_attribute(json!({"name": "x", "canonicalValues": [1]})),
                "/attributes/0/canonicalValues",
                "array of strings",
            ),
            (
                {
                    let mut schema = with_attribute(json!({"name": "x"}));
                    schema["attributes"] = json!([{"name": "x"}, {"name": "X"}]);
                    schema
                },
                "/attributes/1/name",
                "twice",
            ),
            (
                user_type(json!([{"schema": HR}])),
                "/schemaExtensions/0/required",
                "true or false",
            ),
            (
                {
                    let mut rt = user_type(json!([]));
                    rt["endpoint"] = json!("Users");
                    rt
                },
                "/endpoint",
                "one path segment",
            ),
        ];
        for (document, pointer, message) in cases {
            let error = add_error(document.clone());
            assert_eq!(error.source, "bad.json", "{document}");
            assert_eq!(error.pointer, pointer, "{document}: {error}");
            assert!(error.message.contains(message), "{document}: {error}");
        }
    }

    #[test]
    fn applying_refuses_clashes_and_unknown_schemas() {
        let builtin = json!({
            "schemas": [SCHEMA],
            "id": crate::schema::ENTERPRISE_USER,
            "attributes": []
        });
        let error = apply_error(&[builtin]);
        assert_eq!(
            (error.source.as_str(), error.pointer.as_str()),
            ("0.json", "/id")
        );
        assert!(error.message.contains("built-in"), "{error}");

        let error = apply_error(&[user_type(
            json!([{"schema": "urn:nowhere", "required": false}]),
        )]);
        assert_eq!(error.pointer, "/schemaExtensions/0/schema");
        assert!(
            error.message.contains("neither declared nor built in"),
            "{error}"
        );

        let mut moved = user_type(json!([]));
        moved["endpoint"] = json!("/People");
        let error = apply_error(&[moved]);
        assert_eq!(error.pointer, "/endpoint");

        let twice = user_type(json!([
            {"schema": crate::schema::ENTERPRISE_USER, "required": false}
        ]));
        let error = apply_error(&[twice]);
        assert!(
            error.message.contains("already a schema of `User`"),
            "{error}"
        );
    }

    const AGENT: &str = "urn:example:params:scim:schemas:core:2.0:Agent";

    fn agent_schema() -> Value {
        json!({
            "schemas": [SCHEMA],
            "id": AGENT,
            "attributes": [
                {"name": "name", "type": "string", "required": true, "uniqueness": "server"},
                {"name": "serial", "type": "string", "uniqueness": "server"},
                {"name": "owners", "type": "complex", "multiValued": true, "subAttributes": [
                    {"name": "value", "type": "string"},
                    {"name": "$ref", "type": "reference", "referenceTypes": ["User"]}
                ]}
            ]
        })
    }

    fn agent_type(name: &str, endpoint: &str, schema: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE],
            "name": name,
            "endpoint": endpoint,
            "schema": schema
        })
    }

    /// RFC 7643 §6: a resource type the server lacks is served at its own endpoint, after the
    /// built-in ones, with the first `uniqueness: server` attribute of its core schema as the
    /// name the store keeps unique.
    #[test]
    fn a_new_resource_type_is_served_after_the_built_in_ones() {
        let mut declared = Declarations::new();
        declared
            .add_document("agent.json", &agent_schema())
            .unwrap();
        declared
            .add_document("agents.json", &agent_type("Agent", "/Agents", AGENT))
            .unwrap();
        let registry = declared.apply(&SchemaRegistry::standard()).unwrap();
        let names: Vec<&str> = registry.resource_types().map(|rt| rt.name()).collect();
        assert_eq!(names.last(), Some(&"Agent"), "{names:?}");
        let agent = registry.resource_type_for_endpoint("/Agents").unwrap();
        assert_eq!(agent.core_schema().id(), AGENT);
        assert_eq!(unique_attribute(agent), Some("name"));
        assert_eq!(
            unique_attribute(registry.resource_type("User").unwrap()),
            Some("userName")
        );
    }

    /// Every way a new resource type can be refused names its file, pointer and reason.
    #[test]
    fn a_new_resource_type_is_refused_with_the_reason() {
        let cases = [
            (
                agent_type("Agent!", "/Agents", AGENT),
                "/name",
                "letter followed by",
            ),
            (
                agent_type("Agent", "/Agents/x", AGENT),
                "/endpoint",
                "one path segment",
            ),
            (
                agent_type("Agent", "/Schemas", AGENT),
                "/endpoint",
                "SCIM endpoint of its own",
            ),
            (
                agent_type("Robot", "/Users", AGENT),
                "/endpoint",
                "already the endpoint of `User`",
            ),
            (
                agent_type("Agent", "/Agents", USER),
                "/schema",
                "built-in schema",
            ),
            (
                agent_type("Agent", "/Agents", "urn:nowhere"),
                "/schema",
                "not declared",
            ),
        ];
        for (resource_type, pointer, message) in cases {
            let mut declared = Declarations::new();
            declared
                .add_document("agent.json", &agent_schema())
                .unwrap();
            let error = declared
                .add_document("agents.json", &resource_type)
                .and_then(|()| declared.apply(&SchemaRegistry::standard()))
                .unwrap_err();
            assert_eq!(
                (error.source.as_str(), error.pointer.as_str()),
                ("agents.json", pointer),
                "{error}"
            );
            assert!(error.message.contains(message), "{error}");
        }

        // Two types on one core schema.
        let mut declared = Declarations::new();
        declared
            .add_document("agent.json", &agent_schema())
            .unwrap();
        declared
            .add_document("a.json", &agent_type("Agent", "/Agents", AGENT))
            .unwrap();
        declared
            .add_document("b.json", &agent_type("Bot", "/Bots", AGENT))
            .unwrap();
        let error = declared.apply(&SchemaRegistry::standard()).unwrap_err();
        assert_eq!(
            (error.source.as_str(), error.pointer.as_str()),
            ("b.json", "/schema")
        );
        assert!(
            error.message.contains("already a schema of `Agent`"),
            "{error}"
        );
    }

    #[test]
    fn the_error_reads_as_file_pointer_and_reason() {
        let error = add_error(with_attribute(json!({"name": "x", "type": "strin"})));
        assert_eq!(
            error.to_string(),
            "bad.json at /attributes/0/type: `type` is \"strin\"; expected one of string, \
             boolean, decimal, integer, dateTime, binary, reference, complex"
        );
    }
}
