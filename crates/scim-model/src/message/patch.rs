//! The PATCH request (RFC 7644 §3.5.2).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::serde_util::keyword;
use super::{declares, PATCH_OP};

/// A PATCH request: operations applied in order, all or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// A request of `operations`.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchRequest {
            schemas: vec![PATCH_OP.to_owned()],
            operations,
        }
    }

    /// Whether `schemas` names the PatchOp URN, as §3.5.2 requires.
    pub fn declares_patch_op(&self) -> bool {
        declares(&self.schemas, PATCH_OP)
    }
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`, read in any case (`Add`, `REPLACE`).
    pub op: PatchOp,
    /// The target path; absent for an `add` or `replace` of whole attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; absent for most `remove` operations. A JSON `null` reads as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// A PATCH operation kind (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    /// `add`.
    Add,
    /// `remove`.
    Remove,
    /// `replace`.
    Replace,
}

impl PatchOp {
    /// The keyword, lowercase, as the RFC writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
        }
    }
}

impl fmt::Display for PatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PatchOp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// Entra ID sends `Add` and `Replace`; the RFC's lowercase is not what every client writes.
impl<'de> Deserialize<'de> for PatchOp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        keyword(
            deserializer,
            &[
                ("add", PatchOp::Add),
                ("remove", PatchOp::Remove),
                ("replace", PatchOp::Replace),
            ],
        )
    }
}
