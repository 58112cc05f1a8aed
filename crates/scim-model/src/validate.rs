//! Validation of the resources clients send (RFC 7643 §2, RFC 7644 §3.3 POST and §3.5.1 PUT):
//! the body checked against the resource type's schemas and turned into the document the
//! server stores.
//!
//! What validation does, attribute by attribute:
//! - names match case-insensitively (RFC 7643 §2.1) and come out in the schema's spelling;
//!   extension data lives under the extension's URN (RFC 7643 §3.3), and `schemas` is
//!   recomputed: the core URN, then each extension that holds data;
//! - `readOnly` attributes and sub-attributes (`id`, `meta`, `groups`, …) are ignored whatever
//!   their shape (RFC 7644 §3.3, §3.5.1: "SHALL be ignored"), so the output never holds them;
//! - `null` and `[]` are unassigned (RFC 7643 §2.5) and dropped, as are `null` and empty
//!   elements of multi-valued attributes; every other value is kept as sent, `""` included;
//! - values must have their attribute's type (RFC 7643 §2.3), at most one value of a
//!   multi-valued attribute may be `primary` (§2.4), and required attributes must be present;
//! - no string value holds U+0000 (NUL), and the value of an attribute whose values are unique
//!   (`userName`) holds no control character (RFC 8265, PRECIS IdentifierClass: no `Cc`);
//! - strings, keys and multi-valued attributes stay within [`ValidationOptions::limits`]
//!   (`invalidValue` beyond them);
//! - on replace, `immutable` values may not change and `writeOnly` values the client cannot read
//!   back are kept (RFC 7644 §3.5.1).
//!
//! Identity providers bend the RFC in known, unambiguous ways; [`ValidationOptions::default`]
//! accepts those bends and [`ValidationOptions::strict`] refuses them.
//!
//! The first problem found is the error; its detail names the attribute path and never the
//! value, so a rejected `password` is not echoed back.
//!
//! A User's `password` never comes out in the document: the result is a [`Validated`], which
//! holds it apart as a [`Password`] to hash, and whose [`Validated::into_document`] puts the
//! hash in its place (RFC 7643 §4.1.1: cleartext "SHOULD NOT" be stored).
//!
//! ```
//! use scim_model::schema::SchemaRegistry;
//! use scim_model::validate::{validate_create, ValidationOptions};
//! use serde_json::json;
//!
//! let registry = SchemaRegistry::standard();
//! let users = registry.resource_type("User").ok_or("no User type")?;
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "chosen-by-the-client",
//!     "USERNAME": "bjensen",
//!     "active": "True",
//!     "emails": {"value": "bjensen@example.com", "primary": true},
//!     "title": null,
//!     "password": "t1meMa$heen",
//! });
//! let validated = validate_create(&body, users, &ValidationOptions::default())?;
//! assert_eq!(validated.document(), &json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen",
//!     "active": true,
//!     "emails": [{"value": "bjensen@example.com", "primary": true}],
//! }));
//! assert_eq!(format!("{:?}", validated.password()), "Some(Password(<redacted>))");
//!
//! // The document to store: the password replaced by its hash (a real one in practice, such
//! // as `scim_auth::hash_password`'s argon2id).
//! let stored = validated.into_document(|password| {
//!     Ok::<_, std::convert::Infallible>(format!("hash of {}", password.expose_for_hashing()))
//! })?;
//! assert_eq!(stored["password"], "hash of t1meMa$heen");
//!
//! let error = validate_create(&json!({"schemas": []}), users, &ValidationOptions::default())
//!     .unwrap_err();
//! assert_eq!(error.status(), 400);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::error::ScimError;
use crate::limits::{KeyAttributes, Limits};
pub use crate::password::Password;
use crate::password::PASSWORD;
use crate::schema::{
    Attribute, AttributeType, Mutability, ResourceTypeView, Schema, Uniqueness, USER,
};
use crate::value::{fold_case, is_present, member, parse_date_time, same_value};

/// What to do with a member of the body that no schema of the resource type defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnknownAttributes {
    /// Drop it: identity providers send attributes of their own alongside the standard ones.
    #[default]
    Ignore,
    /// Refuse the body with 400 `invalidSyntax`, as the SCIM interoperability profile (§5.3)
    /// asks of a strict server.
    Reject,
}

/// Whether `canonicalValues` (RFC 7643 §7) restrict what an attribute accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CanonicalValues {
    /// Accept any value: RFC 7643 §7 makes canonical values suggestions ("service providers MAY
    /// allow other values"), and clients send others (`"type": "mobile"` on an email).
    #[default]
    Allow,
    /// Accept only a canonical value, compared case-insensitively; others are 400
    /// `invalidValue`.
    Enforce,
}

/// How forgiving validation is. [`Default`] accepts what real identity providers send;
/// [`ValidationOptions::strict`] accepts only what the RFCs allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidationOptions {
    /// Members of the body, or of a complex value, that the schemas do not define.
    pub unknown_attributes: UnknownAttributes,
    /// Read the strings `"true"` and `"false"`, in any case, as booleans (Entra ID sends
    /// `"active": "False"`, some OneLogin templates `"true"`).
    pub coerce_boolean_strings: bool,
    /// Read a lone value of a multi-valued attribute as a one-element array
    /// (`"emails": {"value": …}`).
    pub wrap_single_values: bool,
    /// Read a bare string or number given for a singular complex attribute that has a `value`
    /// sub-attribute as `{"value": …}` (Entra ID sends the enterprise `manager` as the manager's
    /// id). A bare `""` reads as unassigned.
    pub bare_value_for_complex: bool,
    /// Whether `canonicalValues` are enforced.
    pub canonical_values: CanonicalValues,
    /// Refuse a `schemas` URI the resource type does not have, with 400 `invalidSyntax`, as the
    /// interop profile (§5.3) asks. RFC 7643 §3 lets a service provider drop such data instead,
    /// which is what the default and [`ValidationOptions::strict`] do.
    pub reject_unknown_schemas: bool,
    /// The longest string and key, and the most values of a multi-valued attribute.
    pub limits: Limits,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            unknown_attributes: UnknownAttributes::Ignore,
            coerce_boolean_strings: true,
            wrap_single_values: true,
            bare_value_for_complex: true,
            canonical_values: CanonicalValues::Allow,
            reject_unknown_schemas: false,
            limits: Limits::default(),
        }
    }
}

impl ValidationOptions {
    /// Only what RFC 7643 allows: unknown attributes rejected, no coercion or wrapping, and
    /// canonical values enforced.
    pub fn strict() -> Self {
        ValidationOptions {
            unknown_attributes: UnknownAttributes::Reject,
            coerce_boolean_strings: false,
            wrap_single_values: false,
            bare_value_for_complex: false,
            canonical_values: CanonicalValues::Enforce,
            reject_unknown_schemas: false,
            limits: Limits::default(),
        }
    }
}

/// A resource body that passed validation: the document to store, and apart from it the
/// password the body set.
///
/// The document never holds a password as the client sent it. A User body's `password` (RFC
/// 7643 §4.1.1) is taken out into [`Validated::password`]; a replace whose body sets none, or
/// sets exactly the value `existing` holds, carries the stored value (a hash) over in the
/// document. Store [`Validated::into_document`], which asks for the hash of a new password and
/// puts it in its place.
#[derive(Debug)]
#[must_use = "store `into_document`, which puts the password's hash in the document"]
pub struct Validated {
    document: Value,
    password: Option<Password>,
}

impl Validated {
    /// The validated document: `schemas` and the attributes, without `id` or `meta`, and
    /// without a new password.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The document, for a caller that takes out what it stores apart (a group's `members`).
    pub fn document_mut(&mut self) -> &mut Value {
        &mut self.document
    }

    /// The password the body set, to hash; `None` when it set none (or, on a replace, set the
    /// value already stored).
    pub fn password(&self) -> Option<&Password> {
        self.password.as_ref()
    }

    /// The document to store: with the hash `hash` makes of the new password, if there is one,
    /// as its `password`.
    ///
    /// # Errors
    /// Whatever `hash` returns.
    pub fn into_document<E>(
        self,
        hash: impl FnOnce(&Password) -> Result<String, E>,
    ) -> Result<Value, E> {
        let Validated {
            mut document,
            password,
        } = self;
        if let (Some(password), Value::Object(members)) = (password, &mut document) {
            members.insert(PASSWORD.to_owned(), Value::String(hash(&password)?));
        }
        Ok(document)
    }

    /// The document (without a new password) and the password, for a caller that stores the
    /// password's hash elsewhere than in the document.
    pub fn into_parts(self) -> (Value, Option<Password>) {
        (self.document, self.password)
    }
}

/// Validates the body of a POST that creates a resource of `resource_type` (RFC 7644 §3.3).
/// The document to store holds `schemas` and the validated attributes, without `id` or
/// `meta`, which the store assigns.
///
/// A User's `password` is not in the document: it comes out as a [`Password`], and
/// [`Validated::into_document`] stores its hash, never the password (RFC 7643 §4.1.1).
///
/// # Errors
/// A 400 [`ScimError`] for the first problem found: `invalidSyntax` when the body is not an
/// object, `schemas` does not name the core schema, or an unknown attribute is rejected;
/// `invalidValue` for a value of the wrong type, more than one `primary` value, a missing
/// required attribute, (when enforced) a value outside `canonicalValues`, a string holding
/// NUL, or a value beyond [`ValidationOptions::limits`].
pub fn validate_create(
    body: &Value,
    resource_type: ResourceTypeView<'_>,
    options: &ValidationOptions,
) -> Result<Validated, ScimError> {
    let validator = Validator::new(resource_type, options);
    let mut draft = validator.draft(body)?;
    validator.check_required(&draft)?;
    let password = validator.take_password(&mut draft, None);
    Ok(Validated {
        document: validator.finish(draft),
        password,
    })
}

/// Validates the body of a PUT that replaces `existing` (RFC 7644 §3.5.1), the document as
/// stored, and returns the new document to store.
///
/// Everything the body gives replaces what `existing` holds, and what it leaves out is cleared,
/// except that an `immutable` attribute the body omits keeps its value, and so does a
/// `writeOnly` one (a client cannot read it back to send it again). `readOnly` attributes are
/// dropped: the caller carries `id` and `meta` over from `existing`.
///
/// A User's `password` the body sets comes out as a [`Password`] to hash, as in
/// [`validate_create`]; the stored one is kept in the document when the body sets none or sets
/// exactly the stored value. The latter is what a PATCH looks like: [`crate::patch::apply`] to
/// the stored document, then this on its result, and the stored hash is not taken for a new
/// password.
///
/// Immutability applies to attributes and to sub-attributes of singular complex attributes.
/// The `immutable` sub-attributes of a multi-valued attribute (Group `members`) make each
/// value immutable, not the list: a PUT may add and remove values, so they are not compared.
///
/// # Errors
/// Those of [`validate_create`], and 400 `mutability` when the body changes an `immutable`
/// attribute that already has a value.
pub fn validate_replace(
    body: &Value,
    existing: &Value,
    resource_type: ResourceTypeView<'_>,
    options: &ValidationOptions,
) -> Result<Validated, ScimError> {
    let validator = Validator::new(resource_type, options);
    let mut draft = validator.draft(body)?;
    validator.keep_from_existing(&mut draft, existing.as_object())?;
    validator.check_required(&draft)?;
    let password = validator.take_password(&mut draft, existing.as_object());
    Ok(Validated {
        document: validator.finish(draft),
        password,
    })
}

struct Validator<'a, 'r> {
    resource_type: ResourceTypeView<'r>,
    options: &'a ValidationOptions,
    values: ValueChecker<'r>,
}

/// The rules every value of an attribute follows (RFC 7643 §2.3 types, §2.4 `primary`, §2.5
/// unassigned values, §7 canonical values, and the [`ValidationOptions`] bends), shared by POST
/// and PUT bodies and by PATCH values ([`crate::patch`]), so that PATCH stores nothing PUT would
/// refuse.
///
/// Whole values ([`validate_create`], [`validate_replace`]) come out as stored: unassigned and
/// `readOnly` parts dropped, required sub-attributes checked. PATCH values
/// ([`ValueChecker::for_patch`]) are merged into the stored value afterwards, so they keep what
/// merging needs and the merged value is judged later.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueChecker<'n> {
    options: ValidationOptions,
    /// The resource type, named in the error for an unknown sub-attribute.
    resource_type: &'n str,
    /// Its attributes whose values the store keys on ([`Limits::max_key_bytes`]).
    keys: KeyAttributes<'n>,
    /// A PATCH value: `null` members are kept as `null` (they clear what they land on),
    /// `readOnly` sub-attributes are kept (merging checks that they agree with the stored
    /// value), an empty complex value is kept, required sub-attributes are left to the merged
    /// value, and an unknown sub-attribute is `invalidPath`, like an unknown attribute in a
    /// PATCH path.
    merge: bool,
}

/// The validated attributes, before `schemas` is recomputed.
struct Draft<'r> {
    core: Container<'r>,
    /// One per extension of the resource type, in declaration order.
    extensions: Vec<Extension<'r>>,
}

struct Extension<'r> {
    schema: &'r Schema,
    required: bool,
    members: Container<'r>,
}

/// The members of one object being validated, keyed by canonical name, and the names already
/// given, so that a name sent twice in different cases is caught.
#[derive(Default)]
struct Container<'r> {
    members: Map<String, Value>,
    seen: Vec<&'r str>,
}

impl<'r> Container<'r> {
    fn first_sighting(&mut self, name: &'r str) -> bool {
        if self.seen.contains(&name) {
            return false;
        }
        self.seen.push(name);
        true
    }
}

impl<'a, 'r> Validator<'a, 'r> {
    fn new(resource_type: ResourceTypeView<'r>, options: &'a ValidationOptions) -> Self {
        Validator {
            resource_type,
            options,
            values: ValueChecker {
                options: *options,
                resource_type: resource_type.name(),
                keys: KeyAttributes::of(resource_type),
                merge: false,
            },
        }
    }

    fn draft(&self, body: &Value) -> Result<Draft<'r>, ScimError> {
        let object = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        let declared = self.declared_schemas(object)?;
        if self.options.reject_unknown_schemas {
            if let Some(unknown) = declared
                .iter()
                .find(|urn| !self.resource_type.is_known_schema(urn))
            {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown schema `{unknown}` for resource type `{}`",
                    self.resource_type.name()
                )));
            }
        }
        let core = self.resource_type.core_schema();
        if !declared.iter().any(|urn| core.is(urn)) {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must contain `{}`",
                core.id()
            )));
        }
        let mut draft = Draft {
            core: Container::default(),
            extensions: self
                .resource_type
                .extensions()
                .map(|extension| Extension {
                    schema: extension.schema,
                    required: extension.required,
                    members: Container::default(),
                })
                .collect(),
        };
        for (key, value) in object {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            self.body_member(&mut draft, &declared, key, value)?;
        }
        Ok(draft)
    }

    /// The URNs the body's `schemas` lists.
    fn declared_schemas<'b>(
        &self,
        object: &'b Map<String, Value>,
    ) -> Result<Vec<&'b str>, ScimError> {
        let not_a_list = || ScimError::invalid_syntax("`schemas` must be an array of schema URIs");
        let items = match member(object, "schemas") {
            None | Some(Value::Null) => {
                return Err(ScimError::invalid_syntax(format!(
                    "`schemas` is required and must contain `{}`",
                    self.resource_type.core_schema().id()
                )))
            }
            Some(Value::Array(items)) => items.as_slice(),
            Some(lone @ Value::String(_)) if self.options.wrap_single_values => {
                std::slice::from_ref(lone)
            }
            Some(_) => return Err(not_a_list()),
        };
        items
            .iter()
            .map(|item| item.as_str().ok_or_else(not_a_list))
            .collect()
    }

    /// Validates one top-level member of the body into `draft`.
    fn body_member(
        &self,
        draft: &mut Draft<'r>,
        declared: &[&str],
        key: &str,
        value: &Value,
    ) -> Result<(), ScimError> {
        if let Some(index) = self.extension_index(key) {
            return self.extension_object(draft, index, value);
        }
        let (schema, name) = self.resource_type.split_schema_prefix(key);
        let (container, urn, attribute) = match schema {
            // `urn:…:core:2.0:User:userName`: the fully qualified form of RFC 7644 §3.10.
            Some(schema) if !name.is_empty() => match self.extension_index(schema.id()) {
                Some(index) => {
                    let extension = &mut draft.extensions[index];
                    let schema = extension.schema;
                    (
                        &mut extension.members,
                        Some(schema.id()),
                        schema.attribute(name),
                    )
                }
                None => (&mut draft.core, None, self.core_attribute(name)),
            },
            _ => {
                if !self.resource_type.is_known_schema(key)
                    && declared.iter().any(|urn| urn.eq_ignore_ascii_case(key))
                {
                    // The data of a schema the client declared and this resource type does not
                    // know (Entra's custom extensions, Microsoft's ADSCIM Group URN): dropped.
                    return Ok(());
                }
                (&mut draft.core, None, self.core_attribute(key))
            }
        };
        let Some(attribute) = attribute else {
            return self
                .values
                .unknown(key, self.extension_hint(schema.is_some(), key));
        };
        if attribute.name() == "schemas" && urn.is_none() {
            return Ok(());
        }
        let location = Location::attribute(urn, attribute.name());
        self.values.assign(container, attribute, location, value)
    }

    /// The object under an extension's URN (RFC 7643 §3.3).
    fn extension_object(
        &self,
        draft: &mut Draft<'r>,
        index: usize,
        value: &Value,
    ) -> Result<(), ScimError> {
        let extension = &mut draft.extensions[index];
        let urn = extension.schema.id();
        let members = match value {
            Value::Null => return Ok(()),
            Value::Object(members) => members,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "`{urn}` must be a JSON object holding the extension's attributes"
                )))
            }
        };
        for (key, value) in members {
            match extension.schema.attribute(key) {
                Some(attribute) => {
                    let location = Location::attribute(Some(urn), attribute.name());
                    self.values
                        .assign(&mut extension.members, attribute, location, value)?;
                }
                None => self.values.unknown(format_args!("{urn}:{key}"), "")?,
            }
        }
        Ok(())
    }

    fn extension_index(&self, urn: &str) -> Option<usize> {
        self.resource_type
            .extensions()
            .position(|extension| extension.schema.is(urn))
    }

    /// A top-level attribute of the core schema or a common attribute.
    fn core_attribute(&self, name: &str) -> Option<&'r Attribute> {
        self.resource_type
            .core_schema()
            .attribute(name)
            .or_else(|| {
                self.resource_type
                    .common_attributes()
                    .iter()
                    .find(|attribute| attribute.name().eq_ignore_ascii_case(name))
            })
    }

    /// Why an unqualified name that is an extension's attribute was not found.
    fn extension_hint(&self, qualified: bool, name: &str) -> &'static str {
        let in_extension = !qualified
            && self
                .resource_type
                .extensions()
                .any(|extension| extension.schema.attribute(name).is_some());
        if in_extension {
            "; extension attributes go under their schema URN (RFC 7643 §3.3)"
        } else {
            ""
        }
    }
}

impl<'n> ValueChecker<'n> {
    /// The rules for the values of a PATCH on a resource of `resource_type` (see the `merge`
    /// field): `options` are the bends PATCH accepts.
    pub(crate) fn for_patch(
        options: ValidationOptions,
        resource_type: ResourceTypeView<'n>,
    ) -> Self {
        ValueChecker {
            options,
            resource_type: resource_type.name(),
            keys: KeyAttributes::of(resource_type),
            merge: true,
        }
    }

    /// The checked value of `attribute`, or `None` when it is unassigned (RFC 7643 §2.5): an
    /// array for a multi-valued attribute, one value for a singular one. `path` names the
    /// attribute in errors.
    ///
    /// # Errors
    /// 400 `invalidValue` for a value the attribute does not take; `invalidSyntax` for a
    /// sub-attribute given twice, or an unknown one when the options reject them (`invalidPath`
    /// for a PATCH value).
    pub(crate) fn check_value(
        &self,
        attribute: &Attribute,
        path: &str,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        self.value(attribute, Location::attribute(None, path), value)
    }

    /// [`ValueChecker::check_value`] for one value given alone: one element of a multi-valued
    /// attribute, or the value of a singular one.
    ///
    /// # Errors
    /// Those of [`ValueChecker::check_value`].
    pub(crate) fn check_element(
        &self,
        attribute: &Attribute,
        path: &str,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        self.one(attribute, Location::attribute(None, path), value)
    }

    fn unknown(&self, name: impl fmt::Display, hint: &str) -> Result<(), ScimError> {
        match self.options.unknown_attributes {
            UnknownAttributes::Ignore => Ok(()),
            UnknownAttributes::Reject => Err(ScimError::invalid_syntax(format!(
                "unknown attribute `{name}` for resource type `{}`{hint}",
                self.resource_type
            ))),
        }
    }

    /// Validates `value` for `attribute` and stores it in `container` unless it is unassigned
    /// (a PATCH value stores it as `null`).
    fn assign<'r>(
        &self,
        container: &mut Container<'r>,
        attribute: &'r Attribute,
        location: Location<'_>,
        value: &Value,
    ) -> Result<(), ScimError> {
        if attribute.mutability() == Mutability::ReadOnly && !self.merge {
            return Ok(());
        }
        if !container.first_sighting(attribute.name()) {
            return Err(ScimError::invalid_syntax(format!(
                "`{location}` is given more than once (attribute names are case-insensitive)"
            )));
        }
        match self.value(attribute, location, value)? {
            Some(value) => {
                container.members.insert(attribute.name().to_owned(), value);
            }
            None if self.merge => {
                container
                    .members
                    .insert(attribute.name().to_owned(), Value::Null);
            }
            None => {}
        }
        Ok(())
    }

    /// The validated value of `attribute`, or `None` when it is unassigned (RFC 7643 §2.5).
    fn value(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        if !attribute.is_multi_valued() {
            return self.one(attribute, location, value);
        }
        let (items, indexed) = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => (items.as_slice(), true),
            lone if self.options.wrap_single_values => (std::slice::from_ref(lone), false),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "`{location}` is multi-valued and must be an array"
                )))
            }
        };
        let max = self.options.limits.max_values;
        if items.len() > max {
            return Err(ScimError::invalid_value(format!(
                "`{location}` has {} values; at most {max} are accepted",
                items.len()
            )));
        }
        let mut values = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let location = if indexed {
                location.at(index)
            } else {
                location
            };
            if let Some(value) = self.single(attribute, location, item)? {
                values.push(value);
            }
        }
        if attribute.is_complex() {
            let primaries = values
                .iter()
                .filter(|value| value.get("primary") == Some(&Value::Bool(true)))
                .count();
            if primaries > 1 {
                return Err(ScimError::invalid_value(format!(
                    "`{location}` has {primaries} values with `primary` true; at most one may \
                     be primary (RFC 7643 §2.4)"
                )));
            }
        }
        Ok((!values.is_empty()).then_some(Value::Array(values)))
    }

    /// One value given alone (the value of a singular attribute): an array is refused, except
    /// `[]`, which is unassigned.
    fn one(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        match value {
            Value::Array(items) if items.is_empty() => Ok(None),
            Value::Array(_) if attribute.is_multi_valued() => Err(ScimError::invalid_value(
                format!("`{location}` takes one value of the attribute here, not an array"),
            )),
            Value::Array(_) => Err(ScimError::invalid_value(format!(
                "`{location}` is single-valued and must not be an array"
            ))),
            _ => self.single(attribute, location, value),
        }
    }

    /// One value (of a multi-valued attribute, or the value of a singular one).
    fn single(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        if value.is_null() {
            return Ok(None);
        }
        if !attribute.is_complex() {
            return self.simple(attribute, location, value).map(Some);
        }
        match value {
            Value::Object(members) => self.complex(attribute, location, members),
            Value::String(_) | Value::Number(_)
                if self.options.bare_value_for_complex
                    && !attribute.is_multi_valued()
                    && attribute.sub_attribute("value").is_some() =>
            {
                if value.as_str() == Some("") {
                    return Ok(None);
                }
                let mut members = Map::new();
                members.insert("value".to_owned(), value.clone());
                self.complex(attribute, location, &members)
            }
            _ => Err(wrong_value(location, AttributeType::Complex, value)),
        }
    }

    /// The members of a complex value, each checked against its sub-attribute; `None` when
    /// nothing is left (an empty value is unassigned).
    fn complex(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        members: &Map<String, Value>,
    ) -> Result<Option<Value>, ScimError> {
        let mut container = Container::default();
        for (key, value) in members {
            match attribute.sub_attribute(key) {
                Some(sub) => self.assign(&mut container, sub, location.sub(sub.name()), value)?,
                None if self.merge => {
                    return Err(ScimError::invalid_path(format!(
                        "`{location}` has no sub-attribute `{key}`"
                    )))
                }
                None => self.unknown(location.sub(key), "")?,
            }
        }
        if self.merge {
            // Emptiness and required sub-attributes are judged once the value is merged.
            return Ok(Some(Value::Object(container.members)));
        }
        if container.members.is_empty() {
            return Ok(None);
        }
        for sub in attribute.sub_attributes() {
            if sub.is_required()
                && sub.mutability() != Mutability::ReadOnly
                && !container.members.get(sub.name()).is_some_and(is_present)
            {
                return Err(ScimError::invalid_value(format!(
                    "required sub-attribute `{}` is missing or empty",
                    location.sub(sub.name())
                )));
            }
        }
        Ok(Some(Value::Object(container.members)))
    }

    /// The rules every string value follows, whatever its attribute's type: no U+0000 (a store
    /// may not be able to hold it: PostgreSQL's `text` cannot) and at most
    /// [`Limits::max_string_bytes`]; for an attribute the store keys on, at most
    /// [`Limits::max_key_bytes`] as given and as folded for comparison (the folded form is what
    /// is indexed); and for an attribute whose values must be unique (`userName`), no control
    /// character (RFC 8265 §3.1 and RFC 8264 §9.11: the PRECIS IdentifierClass, which usernames
    /// are drawn from, disallows category Cc), so that two identifiers never differ by an
    /// invisible character.
    fn check_text(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        text: &str,
    ) -> Result<(), ScimError> {
        let limits = &self.options.limits;
        limits.check_text(location, text)?;
        if self.keys.contains(attribute) {
            let folded = if attribute.is_case_exact() {
                text.len()
            } else {
                fold_case(text).len()
            };
            let longest = text.len().max(folded);
            if longest > limits.max_key_bytes {
                return Err(ScimError::invalid_value(format!(
                    "`{location}` is {longest} bytes long; the server indexes it, and accepts \
                     at most {} bytes",
                    limits.max_key_bytes
                )));
            }
        }
        if attribute.uniqueness() != Uniqueness::None && text.chars().any(char::is_control) {
            return Err(ScimError::invalid_value(format!(
                "`{location}` must not contain control characters: it identifies its resource \
                 (RFC 8265 §3.1, PRECIS IdentifierClass)"
            )));
        }
        Ok(())
    }

    /// A value of a simple type (RFC 7643 §2.3.1 to §2.3.7).
    fn simple(
        &self,
        attribute: &Attribute,
        location: Location<'_>,
        value: &Value,
    ) -> Result<Value, ScimError> {
        if let Value::String(text) = value {
            self.check_text(attribute, location, text)?;
        }
        let kind = attribute.attribute_type();
        let valid = match (kind, value) {
            (AttributeType::String | AttributeType::Reference, Value::String(_))
            | (AttributeType::Boolean, Value::Bool(_))
            | (AttributeType::Decimal, Value::Number(_)) => Some(value.clone()),
            (AttributeType::Boolean, Value::String(text))
                if self.options.coerce_boolean_strings =>
            {
                if text.eq_ignore_ascii_case("true") {
                    Some(Value::Bool(true))
                } else if text.eq_ignore_ascii_case("false") {
                    Some(Value::Bool(false))
                } else {
                    None
                }
            }
            (AttributeType::Integer, Value::Number(number)) => integer(number).map(Value::Number),
            (AttributeType::DateTime, Value::String(text)) => {
                parse_date_time(text).map(|_| value.clone())
            }
            (AttributeType::Binary, Value::String(text)) => is_base64(text).then(|| value.clone()),
            _ => None,
        };
        let Some(valid) = valid else {
            return Err(wrong_value(location, kind, value));
        };
        if self.options.canonical_values == CanonicalValues::Enforce {
            check_canonical(attribute, location, &valid)?;
        }
        Ok(valid)
    }
}

impl<'r> Validator<'_, 'r> {
    /// Carries over from `existing` what a PUT keeps (RFC 7644 §3.5.1), and refuses changes to
    /// immutable values.
    fn keep_from_existing(
        &self,
        draft: &mut Draft<'r>,
        existing: Option<&Map<String, Value>>,
    ) -> Result<(), ScimError> {
        let core = self.resource_type.core_schema();
        let common = self.resource_type.common_attributes().iter();
        for attribute in core.attributes().iter().chain(common) {
            let location = Location::attribute(None, attribute.name());
            keep(&mut draft.core.members, existing, attribute, location)?;
        }
        for extension in &mut draft.extensions {
            let urn = extension.schema.id();
            let old = existing
                .and_then(|existing| member(existing, urn))
                .and_then(Value::as_object);
            for attribute in extension.schema.attributes() {
                let location = Location::attribute(Some(urn), attribute.name());
                keep(&mut extension.members.members, old, attribute, location)?;
            }
        }
        Ok(())
    }

    fn check_required(&self, draft: &Draft<'r>) -> Result<(), ScimError> {
        let core = self.resource_type.core_schema();
        let common = self.resource_type.common_attributes().iter();
        // `schemas` is required too, and checked first of all.
        let attributes = core
            .attributes()
            .iter()
            .chain(common.filter(|attribute| attribute.name() != "schemas"));
        check_required(&draft.core.members, attributes, None)?;
        for extension in &draft.extensions {
            let urn = extension.schema.id();
            if extension.members.members.is_empty() {
                if extension.required {
                    return Err(ScimError::invalid_value(format!(
                        "resource type `{}` requires the extension `{urn}`",
                        self.resource_type.name()
                    )));
                }
                continue;
            }
            check_required(
                &extension.members.members,
                extension.schema.attributes().iter(),
                Some(urn),
            )?;
        }
        Ok(())
    }

    /// Takes a User's new password out of `draft`. One equal to the password `existing` holds
    /// is that stored value carried over (by [`keep`], or by a PATCH applied to the stored
    /// document), not a new one, and stays.
    fn take_password(
        &self,
        draft: &mut Draft<'r>,
        existing: Option<&Map<String, Value>>,
    ) -> Option<Password> {
        if !self.resource_type.core_schema().is(USER) {
            return None;
        }
        let Some(Value::String(given)) = draft.core.members.get(PASSWORD) else {
            return None;
        };
        let stored = existing
            .and_then(|existing| present_member(existing, PASSWORD))
            .and_then(Value::as_str);
        if stored == Some(given.as_str()) {
            return None;
        }
        match draft.core.members.remove(PASSWORD) {
            Some(Value::String(text)) => Some(Password::new(text)),
            _ => None,
        }
    }

    fn finish(&self, draft: Draft<'r>) -> Value {
        let Draft { core, extensions } = draft;
        let extensions: Vec<Extension<'r>> = extensions
            .into_iter()
            .filter(|extension| !extension.members.members.is_empty())
            .collect();
        let schemas = std::iter::once(self.resource_type.core_schema().id())
            .chain(extensions.iter().map(|extension| extension.schema.id()))
            .map(|urn| Value::String(urn.to_owned()))
            .collect();
        let mut document = Map::new();
        document.insert("schemas".to_owned(), Value::Array(schemas));
        document.extend(core.members);
        for extension in extensions {
            document.insert(
                extension.schema.id().to_owned(),
                Value::Object(extension.members.members),
            );
        }
        Value::Object(document)
    }
}

/// Applies RFC 7644 §3.5.1 to one attribute of a replaced resource: `target` holds what the
/// body gave, `old` the object of `existing` the attribute lives in.
fn keep(
    target: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    attribute: &Attribute,
    location: Location<'_>,
) -> Result<(), ScimError> {
    let name = attribute.name();
    let old_value = old.and_then(|old| present_member(old, name));
    match attribute.mutability() {
        Mutability::ReadOnly => Ok(()),
        Mutability::Immutable => match (target.get(name), old_value) {
            (Some(new), Some(old)) if !same_value(Some(new), Some(old), attribute) => {
                Err(ScimError::mutability(format!(
                    "`{location}` is immutable and already set; it cannot be changed"
                )))
            }
            (None, Some(old)) => {
                target.insert(name.to_owned(), old.clone());
                Ok(())
            }
            _ => Ok(()),
        },
        Mutability::WriteOnly => {
            if let (false, Some(old)) = (target.contains_key(name), old_value) {
                target.insert(name.to_owned(), old.clone());
            }
            Ok(())
        }
        Mutability::ReadWrite => keep_sub_attributes(target, old_value, attribute, location),
    }
}

/// [`keep`] for the sub-attributes of a singular complex attribute.
fn keep_sub_attributes(
    target: &mut Map<String, Value>,
    old_value: Option<&Value>,
    attribute: &Attribute,
    location: Location<'_>,
) -> Result<(), ScimError> {
    let kept_by_put = |sub: &Attribute| {
        matches!(
            sub.mutability(),
            Mutability::Immutable | Mutability::WriteOnly
        )
    };
    if attribute.is_multi_valued() || !attribute.sub_attributes().iter().any(kept_by_put) {
        return Ok(());
    }
    let name = attribute.name();
    let mut object = match target.remove(name) {
        Some(Value::Object(object)) => object,
        Some(other) => {
            // Validation only stores objects for complex values; leave anything else alone.
            target.insert(name.to_owned(), other);
            return Ok(());
        }
        None => Map::new(),
    };
    let old_object = old_value.and_then(Value::as_object);
    for sub in attribute
        .sub_attributes()
        .iter()
        .filter(|sub| kept_by_put(sub))
    {
        keep(&mut object, old_object, sub, location.sub(sub.name()))?;
    }
    if !object.is_empty() {
        target.insert(name.to_owned(), Value::Object(object));
    }
    Ok(())
}

fn check_required<'a>(
    members: &Map<String, Value>,
    attributes: impl Iterator<Item = &'a Attribute>,
    urn: Option<&str>,
) -> Result<(), ScimError> {
    for attribute in attributes {
        if attribute.is_required()
            && attribute.mutability() != Mutability::ReadOnly
            && !members.get(attribute.name()).is_some_and(is_present)
        {
            return Err(ScimError::invalid_value(format!(
                "required attribute `{}` is missing or empty",
                Location::attribute(urn, attribute.name())
            )));
        }
    }
    Ok(())
}

/// The member `name` of `object` when it has a value (RFC 7643 §2.5).
fn present_member<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    member(object, name).filter(|value| is_present(value))
}

/// An integer (RFC 7643 §2.3.4: "A whole number with no fractional digits"); `3.0` counts and
/// is stored as `3`.
fn integer(number: &Number) -> Option<Number> {
    if number.is_i64() || number.is_u64() {
        return Some(number.clone());
    }
    let float = number.as_f64()?;
    // `i64::MAX as f64` is 2^63, one past the largest i64, hence `<`; inside these bounds a
    // whole float converts exactly.
    let in_range = float >= i64::MIN as f64 && float < i64::MAX as f64;
    (float.fract() == 0.0 && in_range).then(|| Number::from(float as i64))
}

/// Base64 as RFC 4648 §4 defines it (RFC 7643 §2.3.6): the standard alphabet, padded to a
/// multiple of four characters, nothing else (§3.3: characters outside the alphabet are
/// rejected).
fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    padding <= 2
        && bytes[..bytes.len() - padding]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn check_canonical(
    attribute: &Attribute,
    location: Location<'_>,
    value: &Value,
) -> Result<(), ScimError> {
    let canonical = attribute.canonical_values();
    let Value::String(text) = value else {
        return Ok(());
    };
    if canonical.is_empty() {
        return Ok(());
    }
    let folded = fold_case(text);
    if canonical
        .iter()
        .any(|candidate| fold_case(candidate) == folded)
    {
        return Ok(());
    }
    let allowed: Vec<String> = canonical.iter().map(|c| format!("`{c}`")).collect();
    Err(ScimError::invalid_value(format!(
        "`{location}` must be one of {}",
        allowed.join(", ")
    )))
}

/// The error for a value of the wrong type: what the attribute takes and, when the JSON type is
/// wrong, what was given (never the value itself).
fn wrong_value(location: Location<'_>, kind: AttributeType, value: &Value) -> ScimError {
    let json_type_fits = match kind {
        AttributeType::String
        | AttributeType::Reference
        | AttributeType::DateTime
        | AttributeType::Binary => value.is_string(),
        AttributeType::Boolean => value.is_boolean(),
        AttributeType::Decimal | AttributeType::Integer => value.is_number(),
        AttributeType::Complex => value.is_object(),
    };
    let expected = expected(kind);
    ScimError::invalid_value(if json_type_fits {
        format!("`{location}` must be {expected}")
    } else {
        format!("`{location}` must be {expected}, not {}", describe(value))
    })
}

/// The JSON type of `value`, for error details.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a value of `kind` must be, for error details.
fn expected(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "a string",
        AttributeType::Boolean => "a boolean",
        AttributeType::Decimal => "a number",
        AttributeType::Integer => "an integer",
        AttributeType::DateTime => "an xsd:dateTime string such as `2011-05-13T04:42:34Z`",
        AttributeType::Binary => "a base64-encoded string",
        AttributeType::Reference => "a string holding a reference",
        AttributeType::Complex => "a JSON object",
    }
}

/// Where in the body a value is, for error details: `emails[0].primary`, or
/// `urn:…:enterprise:2.0:User:manager.value`. Built without allocating; printed only on error.
#[derive(Debug, Clone, Copy)]
struct Location<'a> {
    urn: Option<&'a str>,
    name: &'a str,
    index: Option<usize>,
    sub: Option<&'a str>,
    sub_index: Option<usize>,
}

impl<'a> Location<'a> {
    fn attribute(urn: Option<&'a str>, name: &'a str) -> Self {
        Location {
            urn,
            name,
            index: None,
            sub: None,
            sub_index: None,
        }
    }

    fn at(self, index: usize) -> Self {
        if self.sub.is_some() {
            Location {
                sub_index: Some(index),
                ..self
            }
        } else {
            Location {
                index: Some(index),
                ..self
            }
        }
    }

    fn sub<'b>(self, name: &'b str) -> Location<'b>
    where
        'a: 'b,
    {
        Location {
            sub: Some(name),
            ..self
        }
    }
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(self.name)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        if let Some(sub) = self.sub {
            write!(f, ".{sub}")?;
        }
        if let Some(index) = self.sub_index {
            write!(f, "[{index}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §4 and §3.3: the alphabet and the padding.
    #[test]
    fn base64_alphabet_and_padding() {
        for good in ["", "TWFu", "TWE=", "TQ==", "ab+/Zz09"] {
            assert!(is_base64(good), "{good}");
        }
        for bad in [
            "TWE",
            "TQ=",
            "T===",
            "TW=E",
            "ab-_",
            "TW Fu",
            "TWFu\n",
            "=QQQ",
            "not base64!",
            "é",
        ] {
            assert!(!is_base64(bad), "{bad}");
        }
    }

    /// RFC 7643 §2.3.4: an integer has no fractional digits.
    #[test]
    fn integers() {
        let parse = |text: &str| serde_json::from_str::<Number>(text).unwrap();
        assert_eq!(integer(&parse("3")), Some(parse("3")));
        assert_eq!(integer(&parse("-3")), Some(parse("-3")));
        assert_eq!(
            integer(&parse("18446744073709551615")),
            Some(parse("18446744073709551615"))
        );
        assert_eq!(integer(&parse("3.0")), Some(parse("3")));
        assert_eq!(integer(&parse("3.5")), None);
        assert_eq!(integer(&parse("1e300")), None);
    }

    #[test]
    fn locations_print_as_attribute_paths() {
        let emails = Location::attribute(None, "emails");
        assert_eq!(emails.at(0).sub("primary").to_string(), "emails[0].primary");
        let manager = Location::attribute(Some("urn:x:User"), "manager");
        assert_eq!(manager.sub("value").to_string(), "urn:x:User:manager.value");
        assert_eq!(
            emails.at(1).sub("tags").at(2).to_string(),
            "emails[1].tags[2]"
        );
    }
}
