//! Deriving the `users` columns from a SCIM User document, in one place: the folded userName
//! key, externalId, `active`, the search document and the email keys.
//!
//! The folding and the search document come from `scim-model`, the same code the in-memory
//! filter evaluator uses, so the columns and the evaluator can never disagree.

use scim_model::schema::ResourceTypeView;
use scim_model::search::search_document;
use scim_model::value::{fold_case, member};
use serde_json::Value;

pub use crate::users::UserColumns;
use crate::users::{EmailKey, NewUser, UserUpdate};

impl UserColumns {
    /// Derives the columns of `document`, a User resource already validated against
    /// `resource_type` (so `userName` is a string).
    pub fn derive(document: &Value, resource_type: ResourceTypeView<'_>) -> Self {
        let object = document.as_object();
        let text = |name: &str| {
            object
                .and_then(|o| member(o, name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let user_name = text("userName").unwrap_or_default();
        let search = search_document(document, resource_type);
        let emails = search
            .get("emails")
            .and_then(Value::as_array)
            .map(|emails| {
                emails
                    .iter()
                    .filter_map(|email| {
                        Some(EmailKey {
                            value_key: email.get("value")?.as_str()?.to_owned(),
                            email_type: email
                                .get("type")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                            primary: email
                                .get("primary")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        UserColumns {
            user_name_key: fold_case(&user_name).into_owned(),
            user_name,
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

    /// A [`NewUser`] with these columns.
    pub fn into_new_user(
        self,
        id: String,
        token_id: Option<String>,
        attributes: Vec<String>,
    ) -> NewUser {
        NewUser {
            id,
            columns: self,
            token_id,
            attributes,
        }
    }

    /// A [`UserUpdate`] with these columns.
    pub fn into_update(self, token_id: Option<String>, attributes: Vec<String>) -> UserUpdate {
        UserUpdate {
            columns: self,
            token_id,
            attributes,
        }
    }
}
