//! Schemas as data: attribute characteristics (RFC 7643 §2.2, §7), the built-in User, Group and
//! EnterpriseUser schemas (§4), resource types (§6) and the [`SchemaRegistry`] that resolves
//! attribute references against them.
//!
//! [`Attribute`] and [`Schema`] serialise exactly as the §7 / §8.7.1 JSON representation, so the
//! `/Schemas` endpoint can serve them as they are. Characteristics that the JSON may leave out
//! (`caseExact`, `uniqueness`, `canonicalValues`, ...) are kept as they were given, so a schema
//! read from JSON is written back without loss; the accessors answer with the §2.2 defaults.

mod builtin;
mod declared;
mod registry;
mod resource_type;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

pub use builtin::{
    common_attributes, enterprise_user_schema, group_resource_type, group_schema,
    user_resource_type, user_schema, ENTERPRISE_USER, GROUP, RESOURCE_TYPE, SCHEMA,
    SERVICE_PROVIDER_CONFIG, USER,
};
pub use declared::{
    unique_attribute, DeclarationError, Declarations, INDEXES, MAX_ATTRIBUTES, MAX_DOCUMENTS,
    MAX_INDEXED,
};
pub use registry::{
    AttributeOrigin, LookupError, RegisteredExtension, RegistryError, ResolvedAttribute,
    ResourceTypeView, SchemaRegistry,
};
pub use resource_type::{ResourceType, SchemaExtension};

/// The data type of an attribute (RFC 7643 §2.3), as the `type` characteristic spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    /// `string` (§2.3.1), the default when `type` is left out (§2.2).
    #[default]
    String,
    /// `boolean` (§2.3.2).
    Boolean,
    /// `decimal` (§2.3.3).
    Decimal,
    /// `integer` (§2.3.4).
    Integer,
    /// `dateTime` (§2.3.5): an `xsd:dateTime` string.
    DateTime,
    /// `binary` (§2.3.6): base64-encoded bytes.
    Binary,
    /// `reference` (§2.3.7): a URI.
    Reference,
    /// `complex` (§2.3.8): a JSON object of sub-attributes.
    Complex,
}

impl AttributeType {
    /// The name used in the schema JSON, e.g. `dateTime`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Decimal => "decimal",
            AttributeType::Integer => "integer",
            AttributeType::DateTime => "dateTime",
            AttributeType::Binary => "binary",
            AttributeType::Reference => "reference",
            AttributeType::Complex => "complex",
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether and how an attribute may be written (RFC 7643 §7, `mutability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// `readOnly`: set by the service provider only.
    ReadOnly,
    /// `readWrite`: may be updated and read at any time; the default.
    #[default]
    ReadWrite,
    /// `immutable`: may be set once, when the resource or value is added, never changed.
    Immutable,
    /// `writeOnly`: may be written, is never returned (passwords).
    WriteOnly,
}

impl Mutability {
    /// The name used in the schema JSON, e.g. `readOnly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl fmt::Display for Mutability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When an attribute appears in a response (RFC 7643 §7, `returned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// `always`: returned whatever `attributes` / `excludedAttributes` say.
    Always,
    /// `never`: never returned.
    Never,
    /// `default`: returned unless excluded; the default.
    #[default]
    Default,
    /// `request`: returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The name used in the schema JSON, e.g. `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl fmt::Display for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How unique a value must be (RFC 7643 §7, `uniqueness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// `none`: no uniqueness; the default.
    #[default]
    None,
    /// `server`: unique within the service provider (for this server: within an organisation).
    Server,
    /// `global`: globally unique.
    Global,
}

impl Uniqueness {
    /// The name used in the schema JSON, e.g. `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

impl fmt::Display for Uniqueness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attribute definition with its characteristics (RFC 7643 §2.2, §7).
///
/// Build one with [`Attribute::new`] and the `with_*` methods, or deserialise it from the §7 JSON.
/// Names compare case-insensitively everywhere in SCIM (RFC 7644 §3.10), so
/// [`Attribute::sub_attribute`] does too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    name: String,
    #[serde(rename = "type", default)]
    attribute_type: AttributeType,
    #[serde(default)]
    multi_valued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    required: bool,
    // The optional characteristics stay `Option` so that what was absent from the JSON stays
    // absent when written back (§8.7.1 leaves them out on some attributes and not on others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    canonical_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    case_exact: Option<bool>,
    #[serde(default)]
    mutability: Mutability,
    #[serde(default)]
    returned: Returned,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uniqueness: Option<Uniqueness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_attributes: Option<Vec<Attribute>>,
}

impl Attribute {
    /// A single-valued, optional, `readWrite`, `default`-returned attribute of `attribute_type`:
    /// the §2.2 defaults.
    pub fn new(name: impl Into<String>, attribute_type: AttributeType) -> Self {
        Attribute {
            name: name.into(),
            attribute_type,
            multi_valued: false,
            description: None,
            required: false,
            canonical_values: None,
            case_exact: None,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: None,
            reference_types: None,
            sub_attributes: None,
        }
    }

    /// Sets `multiValued`.
    #[must_use]
    pub fn with_multi_valued(mut self, multi_valued: bool) -> Self {
        self.multi_valued = multi_valued;
        self
    }

    /// Sets `description`.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `required`.
    #[must_use]
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets `canonicalValues`.
    #[must_use]
    pub fn with_canonical_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.canonical_values = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `caseExact`.
    #[must_use]
    pub fn with_case_exact(mut self, case_exact: bool) -> Self {
        self.case_exact = Some(case_exact);
        self
    }

    /// Sets `mutability`.
    #[must_use]
    pub fn with_mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Sets `returned`.
    #[must_use]
    pub fn with_returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets `uniqueness`.
    #[must_use]
    pub fn with_uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = Some(uniqueness);
        self
    }

    /// Sets `referenceTypes` (resource type names, `external` or `uri`).
    #[must_use]
    pub fn with_reference_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.reference_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `subAttributes`, for a `complex` attribute.
    #[must_use]
    pub fn with_sub_attributes(mut self, sub_attributes: Vec<Attribute>) -> Self {
        self.sub_attributes = Some(sub_attributes);
        self
    }

    /// The attribute's name, in its canonical spelling.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data type.
    pub fn attribute_type(&self) -> AttributeType {
        self.attribute_type
    }

    /// Whether the attribute is `complex`.
    pub fn is_complex(&self) -> bool {
        self.attribute_type == AttributeType::Complex
    }

    /// `multiValued`.
    pub fn is_multi_valued(&self) -> bool {
        self.multi_valued
    }

    /// `description`, when the schema gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// `required`.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// `canonicalValues`; empty when none are declared.
    pub fn canonical_values(&self) -> &[String] {
        self.canonical_values.as_deref().unwrap_or_default()
    }

    /// `caseExact`: whether string values compare case-sensitively; `false` when unstated.
    pub fn is_case_exact(&self) -> bool {
        self.case_exact.unwrap_or(false)
    }

    /// `mutability`.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// `returned`.
    pub fn returned(&self) -> Returned {
        self.returned
    }

    /// `uniqueness`; [`Uniqueness::None`] when unstated.
    pub fn uniqueness(&self) -> Uniqueness {
        self.uniqueness.unwrap_or_default()
    }

    /// `referenceTypes`; empty when none are declared.
    pub fn reference_types(&self) -> &[String] {
        self.reference_types.as_deref().unwrap_or_default()
    }

    /// `subAttributes`; empty for a simple attribute.
    pub fn sub_attributes(&self) -> &[Attribute] {
        self.sub_attributes.as_deref().unwrap_or_default()
    }

    /// The sub-attribute called `name`, compared case-insensitively (RFC 7644 §3.10).
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        find_attribute(self.sub_attributes(), name)
    }
}

/// A resource schema (RFC 7643 §7): an id URN and its attributes.
///
/// Serialises as in §8.7.1; a schema built with [`Schema::new`] also carries the `schemas`
/// member naming `urn:ietf:params:scim:schemas:core:2.0:Schema`, as every SCIM resource does,
/// while one read from JSON keeps exactly the members it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    schemas: Vec<String>,
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<Meta>,
}

impl Schema {
    /// A schema `id` (its URN) called `name`, with `attributes`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        attributes: Vec<Attribute>,
    ) -> Self {
        Schema {
            schemas: vec![SCHEMA.to_owned()],
            id: id.into(),
            name: Some(name.into()),
            description: Some(description.into()),
            attributes,
            meta: None,
        }
    }

    /// Sets `meta`, which the server fills in (location) when it serves the schema.
    #[must_use]
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The schema URN, in its canonical spelling.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The human-readable name, e.g. `User`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The human-readable description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The top-level attributes, in schema order.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The top-level attribute called `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find_attribute(&self.attributes, name)
    }

    /// `meta`, when set.
    pub fn meta(&self) -> Option<&Meta> {
        self.meta.as_ref()
    }

    /// Whether `urn` names this schema; URNs compare case-insensitively.
    pub fn is(&self, urn: &str) -> bool {
        self.id.eq_ignore_ascii_case(urn)
    }
}

/// Case-insensitive search by name; attribute lists are short (tens), so a scan without
/// allocation beats hashing a lowercased copy of the name.
fn find_attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}
