//! Resource type definitions (RFC 7643 §6), as served at `/ResourceTypes`.

use serde::{Deserialize, Serialize};

use super::RESOURCE_TYPE;
use crate::meta::Meta;

/// A resource type: its endpoint, its core schema and its schema extensions (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]`.
    #[serde(default = "resource_type_schemas")]
    pub schemas: Vec<String>,
    /// The server-unique id; this server uses the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource type name, e.g. `User`; it is what `meta.resourceType` says.
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The URN of the core schema.
    pub schema: String,
    /// The schema extensions resources of this type may (or must) carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
    /// Set by the server when it serves the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ResourceType {
    /// A resource type called `name` (also its `id`) at `endpoint` with core schema `schema`.
    pub fn new(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        description: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        let name = name.into();
        ResourceType {
            schemas: resource_type_schemas(),
            id: Some(name.clone()),
            name,
            endpoint: endpoint.into(),
            description: Some(description.into()),
            schema: schema.into(),
            schema_extensions: Vec::new(),
            meta: None,
        }
    }

    /// The same resource type with one more schema extension.
    #[must_use]
    pub fn with_extension(mut self, schema: impl Into<String>, required: bool) -> Self {
        self.schema_extensions.push(SchemaExtension {
            schema: schema.into(),
            required,
        });
        self
    }
}

/// A schema extension of a resource type (RFC 7643 §6, `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether every resource of the type must carry the extension.
    pub required: bool,
}

fn resource_type_schemas() -> Vec<String> {
    vec![RESOURCE_TYPE.to_owned()]
}
