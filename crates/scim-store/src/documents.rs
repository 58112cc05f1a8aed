//! Deriving a resource's columns from its SCIM document, in one place: the unique name and its
//! folded key, externalId, `active` and the search document.
//!
//! The folding and the search document come from `scim-model`, the same code the in-memory
//! filter evaluator uses, so the columns and the evaluator can never disagree.

use scim_model::schema::ResourceTypeView;
use scim_model::search::search_document;
use scim_model::value::{fold_case, member};
use serde_json::Value;

use crate::resources::{Columns, NewResource, ResourceKind, Update};

impl Columns {
    /// Derives the columns of `document`, a resource of `kind` already validated against
    /// `resource_type` (so its unique attribute, if present, is a string). An unassigned
    /// `active` means active, as for a new user.
    pub fn derive(
        document: &Value,
        resource_type: ResourceTypeView<'_>,
        kind: &ResourceKind,
    ) -> Self {
        Self::derive_keeping(document, resource_type, kind, true)
    }

    /// [`Columns::derive`] for a rewrite of a resource whose `active` is `current`: an
    /// unassigned `active` keeps `current`, so leaving `active` out never reactivates a
    /// deactivated user. The document keeps `active` unassigned, as the client left it, while
    /// the column and the search document say `false`, so `active eq false` filters find the
    /// user.
    pub fn derive_keeping(
        document: &Value,
        resource_type: ResourceTypeView<'_>,
        kind: &ResourceKind,
        current: bool,
    ) -> Self {
        let object = document.as_object();
        let text = |name: &str| {
            object
                .and_then(|o| member(o, name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let name = text(kind.unique_attribute).unwrap_or_default();
        let mut search = search_document(document, resource_type);
        let assigned = object
            .and_then(|o| member(o, "active"))
            .and_then(Value::as_bool);
        let active = assigned.unwrap_or(current);
        if kind.has_active && assigned.is_none() && !active {
            if let Some(search) = search.as_object_mut() {
                search.insert("active".into(), Value::Bool(false));
            }
        }
        Columns {
            name_key: fold_case(&name).into_owned(),
            name,
            external_id: text("externalId").filter(|id| !id.is_empty()),
            active,
            document: document.to_string(),
            search: search.to_string(),
        }
    }

    /// A [`NewResource`] with these columns.
    pub fn into_new(
        self,
        id: String,
        token_id: Option<String>,
        attributes: Vec<String>,
    ) -> NewResource {
        NewResource {
            id,
            columns: self,
            token_id,
            attributes,
        }
    }

    /// An [`Update`] with these columns.
    pub fn into_update(self, token_id: Option<String>, attributes: Vec<String>) -> Update {
        Update {
            columns: self,
            token_id,
            attributes,
        }
    }
}
