//! Deriving the `users` columns from a SCIM User document, in one place: the folded userName
//! key, externalId, `active`, the search document and the email keys.
//!
//! The folding and the search document come from `scim-model`, the same code the in-memory
//! filter evaluator uses, so the columns and the evaluator can never disagree.

use scim_model::schema::ResourceTypeView;
use scim_model::search::search_document;
use scim_model::value::{fold_case, member};
use serde_json::Value;

use crate::users::{EmailKey, NewUser, UserUpdate};

/// What the `users` row holds besides its bookkeeping, derived from a validated document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    /// userName as sent.
    pub user_name: String,
    /// userName folded for uniqueness and `userName eq` lookups.
    pub user_name_key: String,
    /// externalId, if assigned.
    pub external_id: Option<String>,
    /// `active`; a user without it is active (RFC 7643 §4.1.1 leaves the default to the
    /// service provider, and provisioning clients create users to use them).
    pub active: bool,
    /// The document as JSON text.
    pub document: String,
    /// The search document as JSON text.
    pub search: String,
    /// Email keys for the `emails.value eq` index.
    pub emails: Vec<EmailKey>,
}

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
            user_name: self.user_name,
            user_name_key: self.user_name_key,
            external_id: self.external_id,
            active: self.active,
            document: self.document,
            search: self.search,
            emails: self.emails,
            token_id,
            attributes,
        }
    }

    /// A [`UserUpdate`] with these columns.
    pub fn into_update(self, token_id: Option<String>, attributes: Vec<String>) -> UserUpdate {
        UserUpdate {
            user_name: self.user_name,
            user_name_key: self.user_name_key,
            external_id: self.external_id,
            active: self.active,
            document: self.document,
            search: self.search,
            emails: self.emails,
            token_id,
            attributes,
        }
    }
}
