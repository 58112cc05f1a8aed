//! PATCH (RFC 7644 §3.5.2): applies a [`PatchRequest`] to a resource held as JSON, checked
//! against the resource type's schemas.
//!
//! ```
//! use scim_model::message::PatchRequest;
//! use scim_model::patch::{apply, PatchOptions};
//! use scim_model::schema::SchemaRegistry;
//! use serde_json::json;
//!
//! let registry = SchemaRegistry::standard();
//! let users = registry.resource_type("User").ok_or("no User type")?;
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223",
//!     "userName": "bjensen",
//!     "active": true,
//! });
//! // What Entra ID sends to disable a user: `Replace`, and the boolean as a string.
//! let request: PatchRequest = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! }))?;
//! let patched = apply(&user, &request, users, &PatchOptions::default())?;
//! assert_eq!(patched.resource["active"], json!(false));
//! assert!(patched.changed);
//! assert_eq!(patched.attributes, ["active"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! Operations apply in order to a copy of the resource; the first that fails aborts the request
//! and leaves the resource as it was (§3.5.2: "SHALL be treated as atomic"). The error's detail
//! names the operation, e.g. `operation 2 (replace emails[type eq "work"].value): …`.
//!
//! - Paths: `attr`, `attr.sub`, URN-qualified forms, a path that is exactly a schema URN (the
//!   extension's whole object), `attr[filter]` and `attr[filter].sub`. Names are
//!   case-insensitive and stored under their canonical spelling. A path that does not parse, or
//!   names an unknown attribute, is `invalidPath`; a value filter the schema rejects is
//!   `invalidFilter` (RFC 7644 §3.12 lists PATCH path filters under `invalidFilter`).
//! - A path-less `add` or `replace` takes an object whose keys are attribute names, dotted
//!   `name.sub` names, URN-qualified names, or an extension URN holding an object; each key is
//!   applied as if it were the operation's path. They are never stored as literal keys.
//! - `add` sets a singular simple attribute, merges sub-attributes into a singular complex one,
//!   and appends to a multi-valued one; a value equal to one already there is not added again
//!   (complex values compare by their `value` sub-attribute when both have one, else as
//!   wholes).
//! - `remove` without a path is `noTarget` (§3.5.2.2). With a value on a multi-valued attribute
//!   (`{"op":"remove","path":"members","value":[{"value":"u1"}]}`, Entra ID's default) it
//!   removes only the listed values, never the whole attribute. Removing what is absent is a
//!   no-op. Removing a `required` attribute is `mutability`, as §3.5.2.2 says ("If an attribute
//!   is removed or becomes unassigned and is defined as a required attribute or a read-only
//!   attribute … "mutability"").
//! - `replace` of a multi-valued attribute replaces the collection. `replace` of a singular
//!   complex attribute follows §3.5.2.3: "Sub-attributes that are not specified in the "value"
//!   parameter are left unchanged." The interop profile (draft-zollner-scim-interop-profile
//!   §6.5.2.1) says a complex `replace` replaces the whole value; that reading is available as
//!   [`ComplexReplace::WholeValue`].
//! - A filtered `replace` that matches nothing: §3.5.2.3 answers `noTarget`, but Entra ID
//!   replaces `emails[type eq "work"].value` on users that have no work email and expects the
//!   email to be created. [`MissingFilterTarget`] chooses; the default adds the value, built
//!   from the filter's `eq` conditions joined by `and` (`{"type": "work", "value": …}`). A
//!   filtered `add` that matches nothing always adds such a value.
//! - Mutability (RFC 7643 §2.2): a path naming a `readOnly` attribute or sub-attribute is
//!   `mutability`. In a path-less value (or an extension object) a `readOnly` member equal to
//!   the stored value, or `null`, is ignored, because Okta sends `id` alongside the attributes
//!   it changes; a different value is `mutability`. An `immutable` value may be set while
//!   unassigned; changing or removing an assigned one is `mutability`.
//! - Values are checked against the schema (`invalidValue`) by the rules validation applies to
//!   POST and PUT bodies ([`crate::validate`]), so that PATCH stores nothing PUT would refuse:
//!   a lone value given for a multi-valued attribute is wrapped in an array; a bare string
//!   given for a singular complex attribute with a `value` sub-attribute becomes
//!   `{"value": …}` (`""` leaves it unassigned), and so does a one-element array (Entra ID's
//!   `manager` as an id or as `[{"$ref": …, "value": …}]`); `"True"`/`"False"` become booleans
//!   when [`PatchOptions::coerce_boolean_strings`] is set; `3.0` is the integer `3`; binary is
//!   padded standard base64; at most one value given is `primary`; required sub-attributes
//!   stay present. `null` (and `[]`) means unassigned: `replace` with `null` clears the target,
//!   as does a `null` member of a path-less value.
//! - An `add` must carry a value (§3.5.2.1: "The operation MUST contain a "value" member"):
//!   one without, or with `null` (read as none), is `invalidValue`. An unknown sub-attribute in a value is `invalidPath`, like an unknown
//!   attribute in a path, and the same attribute given twice in one value (`nickName` and
//!   `NICKNAME`) is `invalidSyntax`.
//! - A request holds at most [`Limits::max_operations`] operations, its strings (paths, values,
//!   member names) hold no U+0000 and at most [`Limits::max_string_bytes`] each, and after each
//!   operation a multi-valued attribute holds at most [`Limits::max_values`] values; beyond
//!   these, `invalidValue` ([`check_request`]; [`PatchOptions::limits`]).
//! - A request without operations is `invalidSyntax` (§3.5.2: "an array of one or more PATCH
//!   operations"); an unknown `op` is refused when the body is read ([`parse_request`]).
//! - After each operation at most one value of a multi-valued attribute is `primary`: a value
//!   the operation made primary clears the flag of the others (§3.5.2: "SHALL cause the server
//!   to automatically set "primary" to "false" for any other values in the array").
//! - The extension URN is added to `schemas` when the extension gets its first attribute, and
//!   removed with the extension's last one. `schemas` itself is maintained by this module and
//!   cannot be patched.

mod step;
mod target;
mod values;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::limits::Limits;
use crate::message::{PatchOperation, PatchRequest};
use crate::schema::{Attribute, ResourceTypeView};

/// What a filtered `replace` does when its filter matches no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingFilterTarget {
    /// Add a new value built from the filter's `eq` conditions and the operation's value, as an
    /// `add` would. Entra ID relies on it (`emails[type eq "work"].value` on a user without a
    /// work email). A filter that is not a conjunction of `eq` conditions still fails with
    /// `noTarget`.
    #[default]
    AddValue,
    /// Fail with 400 `noTarget`, as RFC 7644 §3.5.2.3 says.
    NoTarget,
}

/// What a `replace` of a singular complex attribute, or of a value selected by a filter, does
/// to the sub-attributes the operation does not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComplexReplace {
    /// Leave them as they are (RFC 7644 §3.5.2.3).
    #[default]
    MergeSubAttributes,
    /// Remove them: the value becomes exactly the one given (interop profile §6.5.2.1).
    /// `readOnly` sub-attributes are kept, since a client cannot remove them.
    WholeValue,
}

/// Choices where RFC 7644 and the identity providers disagree.
///
/// [`PatchOptions::default`] is what real identity providers need; [`PatchOptions::strict`]
/// follows the RFC to the letter and refuses path-less operations as the interop profile does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchOptions {
    /// Read the strings `"true"` and `"false"`, in any case, as booleans for boolean
    /// attributes (Entra ID sends `"False"`). Default `true`.
    pub coerce_boolean_strings: bool,
    /// What a filtered `replace` that matches nothing does. Default
    /// [`MissingFilterTarget::AddValue`].
    pub replace_missing_filter_target: MissingFilterTarget,
    /// What a `replace` of a complex value does to sub-attributes it does not name. Default
    /// [`ComplexReplace::MergeSubAttributes`] (RFC 7644 §3.5.2.3).
    pub complex_replace: ComplexReplace,
    /// Accept operations without a `path` (RFC 7644 §3.5.2.1, §3.5.2.3); Okta and Entra ID
    /// send them. When `false`, such operations fail with 400 `invalidSyntax`, as the interop
    /// profile §6.5.1.1 requires. Default `true`.
    pub allow_pathless: bool,
    /// Skip operations on attributes of schema URNs the resource type does not have (an
    /// identity provider's own extension, such as Entra ID's custom attributes), as POST and
    /// PUT drop them. When `false`, they fail with 400 `invalidPath`. Default `true`.
    pub ignore_unknown_schemas: bool,
    /// The most operations, the longest string and key, the most values of a multi-valued
    /// attribute and the largest path filter. Default [`Limits::default`].
    pub limits: Limits,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            coerce_boolean_strings: true,
            replace_missing_filter_target: MissingFilterTarget::AddValue,
            complex_replace: ComplexReplace::MergeSubAttributes,
            allow_pathless: true,
            ignore_unknown_schemas: true,
            limits: Limits::default(),
        }
    }
}

impl PatchOptions {
    /// The strict reading: no boolean strings, `noTarget` for a filtered `replace` that matches
    /// nothing, no path-less operations (interop profile §6.5.1.1) and `invalidPath` for
    /// attributes of unknown schemas (§5.3). Complex `replace`
    /// still merges, as RFC 7644 §3.5.2.3 says.
    pub fn strict() -> Self {
        PatchOptions {
            coerce_boolean_strings: false,
            replace_missing_filter_target: MissingFilterTarget::NoTarget,
            complex_replace: ComplexReplace::MergeSubAttributes,
            allow_pathless: false,
            ignore_unknown_schemas: false,
            limits: Limits::default(),
        }
    }
}

/// The outcome of a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    /// The resource after every operation.
    pub resource: Value,
    /// Whether `resource` differs from the input. A no-op PATCH leaves it `false`, so the
    /// server can keep the version and the modification time (§3.5.2.1: "SHALL NOT change the
    /// modify timestamp").
    pub changed: bool,
    /// The canonical names of the top-level attributes whose value changed, in the order the
    /// operations first touched them, for the audit log. Extension attributes carry their URN
    /// (`urn:…:enterprise:2.0:User:manager`).
    pub attributes: Vec<String>,
}

/// Reads a PATCH request body.
///
/// # Errors
/// 400 `invalidSyntax` when the body is not a PatchOp message: not JSON, no `Operations`, an
/// `op` other than `add`, `remove` or `replace` (in any case), or a `path` that is not a
/// string.
pub fn parse_request(body: &[u8]) -> Result<PatchRequest, ScimError> {
    serde_json::from_slice(body).map_err(|error| {
        ScimError::invalid_syntax(format!("the body is not a PATCH request: {error}"))
    })
}

/// Reads a PATCH request already parsed as JSON, such as the `data` of a bulk operation.
///
/// # Errors
/// 400 `invalidSyntax`, as [`parse_request`].
pub fn request_from_value(value: Value) -> Result<PatchRequest, ScimError> {
    serde_json::from_value(value).map_err(|error| {
        ScimError::invalid_syntax(format!("the body is not a PATCH request: {error}"))
    })
}

/// Checks what a request carries before any operation is applied: at most
/// [`Limits::max_operations`] operations, and no string anywhere in it (paths, values, the keys
/// of path-less values) holding U+0000 or longer than [`Limits::max_string_bytes`].
///
/// [`apply`] checks this itself; a server that takes some operations out of the request to
/// handle them without the engine (a group's member changes) calls it first, so those follow
/// the same bounds.
///
/// # Errors
/// 400 `invalidValue` naming the operation.
pub fn check_request(request: &PatchRequest, options: &PatchOptions) -> Result<(), ScimError> {
    let limits = &options.limits;
    if request.operations.len() > limits.max_operations {
        return Err(ScimError::invalid_value(format!(
            "`Operations` holds {} operations; at most {} are accepted in one request",
            request.operations.len(),
            limits.max_operations
        )));
    }
    for (index, operation) in request.operations.iter().enumerate() {
        let number = index + 1;
        if let Some(path) = &operation.path {
            limits.check_text(format_args!("operation {number}: path"), path)?;
        }
        if let Some(value) = &operation.value {
            check_strings(value, limits, number)?;
        }
    }
    Ok(())
}

/// [`Limits::check_text`] on every string and member name in `value`. The recursion is as deep
/// as the JSON, which the parser bounds (serde_json stops at 128 levels).
fn check_strings(value: &Value, limits: &Limits, number: usize) -> Result<(), ScimError> {
    let location = format_args!("operation {number}: value");
    match value {
        Value::String(text) => limits.check_text(location, text),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_strings(item, limits, number)),
        Value::Object(members) => members.iter().try_for_each(|(key, item)| {
            limits.check_text(location, key)?;
            check_strings(item, limits, number)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Applies `request` to `resource`, a resource of `resource_type` as JSON (see the module
/// docs for the rules).
///
/// The input is never modified; the result is a new value. `meta` is left to the caller, who
/// updates `lastModified` and `version` when [`Patched::changed`] is set.
///
/// The result is not yet a document to store: a password an operation sets is in it as the
/// client sent it. Pass it to [`crate::validate::validate_replace`] with the stored document as
/// `existing`, which takes a new password out to be hashed and keeps the stored one.
///
/// # Errors
/// A 400 [`ScimError`] whose detail names the failing operation: `invalidSyntax` for a request
/// without operations or a path-less operation when those are not allowed, `invalidPath` for a
/// path that does not parse or names an unknown attribute, `invalidFilter` for a value filter
/// the schema rejects, `noTarget` for a `remove` without a path or a filtered `replace` that
/// matches nothing (with [`MissingFilterTarget::NoTarget`]), `mutability` for a change to a
/// `readOnly` or assigned `immutable` value or the removal of a `required` one, and
/// `invalidValue` for a value the schema does not allow, an `add` without a value, or a
/// request or value beyond [`PatchOptions::limits`] ([`check_request`]). A 500 if `resource`
/// is not a JSON object.
pub fn apply(
    resource: &Value,
    request: &PatchRequest,
    resource_type: ResourceTypeView<'_>,
    options: &PatchOptions,
) -> Result<Patched, ScimError> {
    apply_numbered(resource, request, resource_type, options, &[])
}

/// [`apply`] for operations taken out of a larger request (a server that handles some
/// operations itself, such as a group's member changes): an error names operation
/// `numbers[i]` (1-based, in the client's request) for `request.operations[i]`, so the client
/// reads the position it sent. Positions missing from `numbers` count from 1 as in [`apply`].
///
/// # Errors
/// As [`apply`].
pub fn apply_numbered(
    resource: &Value,
    request: &PatchRequest,
    resource_type: ResourceTypeView<'_>,
    options: &PatchOptions,
    numbers: &[usize],
) -> Result<Patched, ScimError> {
    if request.operations.is_empty() {
        return Err(ScimError::invalid_syntax(
            "`Operations` must hold at least one operation (RFC 7644 §3.5.2)",
        ));
    }
    check_request(request, options)?;
    let Some(original) = resource.as_object() else {
        return Err(ScimError::internal(
            "the resource to patch is not a JSON object",
        ));
    };
    let engine = step::Engine::new(resource_type, options);
    let mut working = original.clone();
    let mut touched: Vec<step::Touched<'_>> = Vec::new();
    for (index, operation) in request.operations.iter().enumerate() {
        engine
            .operation(&mut working, operation, &mut touched)
            .map_err(|error| {
                let number = numbers.get(index).copied().unwrap_or(index + 1);
                in_operation(&error, number, operation)
            })?;
    }
    let attributes = changed_attributes(original, &working, &touched);
    let changed = *original != working;
    Ok(Patched {
        resource: Value::Object(working),
        changed,
        attributes,
    })
}

/// The same error, its detail prefixed with the operation it comes from.
fn in_operation(error: &ScimError, number: usize, operation: &PatchOperation) -> ScimError {
    let what = match &operation.path {
        Some(path) => format!("{} {path}", operation.op),
        None => operation.op.to_string(),
    };
    ScimError::new(
        error.status(),
        error.scim_type(),
        format!("operation {number} ({what}): {}", error.detail()),
    )
}

/// The names of the touched attributes whose value differs between `before` and `after`,
/// first touch first, each once.
fn changed_attributes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    touched: &[step::Touched<'_>],
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for entry in touched {
        let name = entry.name();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let old = step::stored(before, entry.urn, entry.attribute.name());
        let new = step::stored(after, entry.urn, entry.attribute.name());
        if old != new {
            names.push(name);
        }
    }
    names
}

/// The canonical name of a top-level attribute, with its extension URN if it has one.
fn qualified_name(urn: Option<&str>, attribute: &Attribute) -> String {
    match urn {
        Some(urn) => format!("{urn}:{}", attribute.name()),
        None => attribute.name().to_owned(),
    }
}
