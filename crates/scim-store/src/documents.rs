//! Deriving a resource's columns from its SCIM document, in one place: the unique name and its
//! folded key, externalId, `active`, the search document and the email keys.
//!
//! The folding and the search document come from `scim-model`, the same code the in-memory
//! filter evaluator uses, so the columns and the evaluator can never disagree.

use scim_model::schema::ResourceTypeView;
use scim_model::search::search_document;
use scim_model::value::{fold_case, member};
use serde_json::Value;

use crate::resources::{Columns, EmailKey, NewResource, ResourceKind, Update};

impl Columns {
    /// Derives the columns of `document`, a resource of `kind` already validated against
    /// `resource_type` (so its unique attribute, if present, is a string).
    pub fn derive(
        document: &Value,
        resource_type: ResourceTypeView<'_>,
        kind: &ResourceKind,
    ) -> Self {
        let object = document.as_object();
        let text = |name: &str| {
            object
                .and_then(|o| member(o, name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let name = text(kind.unique_attribute).unwrap_or_default();
        let search = search_document(document, resource_type);
        let emails = if kind.has_emails {
            email_keys(&search)
        } else {
            Vec::new()
        };
        Columns {
            name_key: fold_case(&name).into_owned(),
            name,
            external_id: text("externalId").filter(|id| !id.is_empty()),
            active: object
                .and_then(|o| member(o, "active"))
                .and_then(Value::as_bool)
                .unwrap_or(true),
            document: document.to_string(),
            search: search.to_string(),
            emails,
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

fn email_keys(search: &Value) -> Vec<EmailKey> {
    let Some(emails) = search.get("emails").and_then(Value::as_array) else {
        return Vec::new();
    };
    emails
        .iter()
        .filter_map(|email| {
            Some(EmailKey {
                value_key: email.get("value")?.as_str()?.to_owned(),
                email_type: email.get("type").and_then(Value::as_str).map(str::to_owned),
                primary: email
                    .get("primary")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}
