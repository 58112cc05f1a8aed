//! One operation at a time: the target resolved, the attribute's value taken out of the
//! resource, changed, checked and put back.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::target::{resolve_key, resolve_path, ElementFilter, Target};
use super::values::{agrees, assigned, tidy, Checker, ElementKey, ElementKeys};
use super::{qualified_name, ComplexReplace, MissingFilterTarget, PatchOptions};
use crate::error::ScimError;
use crate::message::{PatchOp, PatchOperation};
use crate::schema::{Attribute, Mutability, ResolvedAttribute, ResourceTypeView, Schema};
use crate::value::remove_member;
use crate::value::{member, member_key, same_value, values_of};

/// The value of a `replace` or `remove` that has none: `null` (the message reads
/// `"value": null` as absent), which means "unassigned". An `add` must have one.
const NULL: &Value = &Value::Null;

/// A top-level attribute an operation wrote, for the audit list.
#[derive(Debug, Clone, Copy)]
pub(super) struct Touched<'r> {
    pub(super) urn: Option<&'r str>,
    pub(super) attribute: &'r Attribute,
}

impl Touched<'_> {
    pub(super) fn name(&self) -> String {
        qualified_name(self.urn, self.attribute)
    }
}

/// What an operation does to its target, with the value it carries.
#[derive(Debug, Clone, Copy)]
enum Action<'a> {
    Add(&'a Value),
    Replace(&'a Value),
    /// A value on a `remove` lists the values of a multi-valued attribute to remove.
    Remove(Option<&'a Value>),
}

/// The operations a value's keys can carry: path-less `remove` does not exist (§3.5.2.2).
#[derive(Debug, Clone, Copy)]
enum Write {
    Add,
    Replace,
}

impl Write {
    fn action(self, value: &Value) -> Action<'_> {
        match self {
            Write::Add => Action::Add(value),
            Write::Replace => Action::Replace(value),
        }
    }
}

/// Which values of the attribute a step addresses.
enum Selector<'r> {
    /// The attribute (or, with a sub-attribute, that sub-attribute of every value).
    Whole,
    /// The values a filter selects.
    Filtered(ElementFilter<'r>),
}

/// One attribute-level change: a path, or one key of a path-less value.
struct Step<'r> {
    /// The top-level attribute.
    attr: ResolvedAttribute<'r>,
    selector: Selector<'r>,
    /// The sub-attribute addressed, if any.
    sub: Option<&'r Attribute>,
    /// Whether the change comes from a value's keys rather than a path, where a `readOnly`
    /// value equal to the stored one is ignored.
    lenient: bool,
}

impl Step<'_> {
    /// The target as written in error details, e.g. `emails.value`.
    fn label(&self) -> String {
        match (&self.selector, self.sub) {
            (Selector::Filtered(_), Some(sub)) => format!("{}.{}", self.attr, sub.name()),
            _ => self.attr.to_string(),
        }
    }
}

/// Applies operations to a resource of one resource type.
pub(super) struct Engine<'r, 'o> {
    resource_type: ResourceTypeView<'r>,
    options: &'o PatchOptions,
    checker: Checker<'r>,
}

impl<'r, 'o> Engine<'r, 'o> {
    pub(super) fn new(resource_type: ResourceTypeView<'r>, options: &'o PatchOptions) -> Self {
        Engine {
            resource_type,
            options,
            checker: Checker::new(options, resource_type),
        }
    }

    /// Applies one operation to `root`. On error `root` is left half-changed: the caller
    /// works on a copy and drops it.
    pub(super) fn operation(
        &self,
        root: &mut Map<String, Value>,
        operation: &PatchOperation,
        touched: &mut Vec<Touched<'r>>,
    ) -> Result<(), ScimError> {
        if operation.op == PatchOp::Add && operation.value.is_none() {
            // Without this, the missing value read as `null` and cleared the target.
            return Err(ScimError::invalid_value(
                "an add operation must carry a value (RFC 7644 §3.5.2.1)",
            ));
        }
        let value = operation.value.as_ref().unwrap_or(NULL);
        let action = match operation.op {
            PatchOp::Add => Action::Add(value),
            PatchOp::Replace => Action::Replace(value),
            PatchOp::Remove => Action::Remove(operation.value.as_ref()),
        };
        let Some(path) = &operation.path else {
            if !self.options.allow_pathless {
                return Err(ScimError::invalid_syntax(
                    "every operation needs a `path` (interop profile §6.5.1.1)",
                ));
            }
            let write = match operation.op {
                PatchOp::Add => Write::Add,
                PatchOp::Replace => Write::Replace,
                PatchOp::Remove => {
                    return Err(ScimError::no_target(
                        "`remove` needs a `path` (RFC 7644 §3.5.2.2)",
                    ))
                }
            };
            let Value::Object(members) = value else {
                return Err(ScimError::invalid_value(
                    "without a `path`, the value must be an object of the attributes to change \
                     (RFC 7644 §3.5.2.1, §3.5.2.3)",
                ));
            };
            return self.members(root, members, None, write, touched);
        };
        let target = resolve_path(self.resource_type, path, &self.options.limits)?;
        self.target(root, target, action, false, touched)
    }

    /// Applies each member of a path-less value (or of an extension URN's object) as if its
    /// key were the path.
    fn members(
        &self,
        root: &mut Map<String, Value>,
        members: &Map<String, Value>,
        schema: Option<&'r Schema>,
        write: Write,
        touched: &mut Vec<Touched<'r>>,
    ) -> Result<(), ScimError> {
        // A set: a path-less value may carry tens of thousands of keys (under a schema the
        // server skips), and each is checked against all before it.
        let mut seen: HashSet<String> = HashSet::with_capacity(members.len());
        for (key, value) in members {
            // Client libraries that model an extension as its own resource (scim2-models, for
            // one) put a `schemas` member in the extension's object; the resource's `schemas`
            // is kept in step by this module, so that member says nothing to apply.
            if schema.is_some() && key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let target = resolve_key(self.resource_type, key, schema, &self.options.limits)?;
            // `{"nickName": "a", "NICKNAME": "b"}`: which one was meant? Validation refuses the
            // same ambiguity in POST and PUT bodies.
            let canonical = match &target {
                Target::Schema(schema) => schema.id().to_owned(),
                Target::Attr(attr) => attr.to_string(),
                Target::Filtered { .. } | Target::UnknownSchema(_) => key.clone(),
            };
            if seen.contains(&canonical) {
                return Err(ScimError::invalid_syntax(format!(
                    "`{canonical}` is given more than once (attribute names are case-insensitive)"
                )));
            }
            seen.insert(canonical);
            self.target(root, target, write.action(value), true, touched)?;
        }
        Ok(())
    }

    fn target(
        &self,
        root: &mut Map<String, Value>,
        target: Target<'r>,
        action: Action<'_>,
        lenient: bool,
        touched: &mut Vec<Touched<'r>>,
    ) -> Result<(), ScimError> {
        match target {
            Target::Schema(schema) => match action {
                Action::Remove(_) | Action::Add(Value::Null) | Action::Replace(Value::Null) => {
                    self.drop_schema(root, schema, touched)
                }
                Action::Add(Value::Object(members)) => {
                    self.members(root, members, Some(schema), Write::Add, touched)
                }
                Action::Replace(Value::Object(members)) => {
                    self.members(root, members, Some(schema), Write::Replace, touched)
                }
                Action::Add(_) | Action::Replace(_) => Err(ScimError::invalid_value(format!(
                    "`{}` takes an object of the schema's attributes",
                    schema.id()
                ))),
            },
            // Nothing of such a schema is stored (validation drops it from POST and PUT too).
            Target::UnknownSchema(_) if self.options.ignore_unknown_schemas => Ok(()),
            Target::UnknownSchema(urn) => Err(ScimError::invalid_path(format!(
                "`{urn}` is not a schema of {} resources",
                self.resource_type.name()
            ))),
            Target::Attr(attr) => self.step(
                root,
                Step {
                    attr,
                    selector: Selector::Whole,
                    sub: attr.sub_attribute(),
                    lenient,
                },
                action,
                touched,
            ),
            Target::Filtered { attr, filter, sub } => self.step(
                root,
                Step {
                    attr,
                    selector: Selector::Filtered(filter),
                    sub,
                    lenient,
                },
                action,
                touched,
            ),
        }
    }

    /// Removes an extension's whole object, and its URN from `schemas`.
    fn drop_schema(
        &self,
        root: &mut Map<String, Value>,
        schema: &'r Schema,
        touched: &mut Vec<Touched<'r>>,
    ) -> Result<(), ScimError> {
        if self.resource_type.core_schema().is(schema.id()) {
            return Err(ScimError::invalid_path(format!(
                "the core schema `{}` cannot be removed",
                schema.id()
            )));
        }
        if self
            .resource_type
            .extension(schema.id())
            .is_some_and(|extension| extension.required)
        {
            return Err(ScimError::mutability(format!(
                "extension `{}` is required for {} resources",
                schema.id(),
                self.resource_type.name()
            )));
        }
        let Some(removed) = remove_member(root, schema.id()) else {
            return Ok(());
        };
        if let Value::Object(object) = &removed {
            for attribute in schema.attributes() {
                let value = member(object, attribute.name());
                if !assigned(value, attribute) {
                    continue;
                }
                let name = qualified_name(Some(schema.id()), attribute);
                if attribute.is_required() {
                    return Err(required_error(&name));
                }
                match attribute.mutability() {
                    Mutability::ReadOnly => return Err(read_only_error(&name)),
                    Mutability::Immutable => return Err(immutable_error(&name)),
                    Mutability::ReadWrite | Mutability::WriteOnly => {}
                }
                touched.push(Touched {
                    urn: Some(schema.id()),
                    attribute,
                });
            }
        }
        drop_schema_urn(root, schema.id());
        Ok(())
    }

    fn step(
        &self,
        root: &mut Map<String, Value>,
        step: Step<'r>,
        action: Action<'_>,
        touched: &mut Vec<Touched<'r>>,
    ) -> Result<(), ScimError> {
        let attribute = step.attr.attribute();
        let urn = step.attr.extension_urn();
        if step.attr.is_common() && attribute.name() == "schemas" {
            // Clients echo `schemas` in path-less values; what it holds follows from the
            // attributes present, so it is not theirs to set.
            if step.lenient {
                return Ok(());
            }
            return Err(ScimError::mutability(
                "`schemas` is maintained by the server from the attributes present; add or \
                 remove an extension through its URN instead",
            ));
        }
        let read_only = attribute.mutability() == Mutability::ReadOnly
            || step
                .sub
                .is_some_and(|sub| sub.mutability() == Mutability::ReadOnly);
        if read_only {
            if step.lenient && self.read_only_unchanged(root, &step, action) {
                return Ok(());
            }
            return Err(read_only_error(&step.label()));
        }

        let current = stored(root, urn, attribute.name());
        let was_assigned = assigned(current, attribute);
        let immutable_before =
            (attribute.mutability() == Mutability::Immutable).then(|| current.cloned());
        let primaries_before = primary_values(current, attribute);
        let extension_had_content = urn.is_some_and(|urn| {
            member(root, urn)
                .and_then(Value::as_object)
                .is_some_and(|object| !object.is_empty())
        });

        let value = take(root, urn, attribute.name());
        let mut updated = tidy(self.transform(value, &step, action)?, attribute);

        let name = qualified_name(urn, attribute);
        if let Some(before) = immutable_before {
            if assigned(before.as_ref(), attribute)
                && !same_value(before.as_ref(), Some(&updated), attribute)
            {
                return Err(immutable_error(&name));
            }
        }
        if attribute.is_required() && was_assigned && !assigned(Some(&updated), attribute) {
            return Err(required_error(&name));
        }
        check_required_subs(&updated, attribute, &name, action)?;
        let max = self.options.limits.max_values;
        if attribute.is_multi_valued() && values_of(&updated, attribute).nth(max).is_some() {
            return Err(ScimError::invalid_value(format!(
                "`{name}` would hold more than {max} values; at most {max} are accepted"
            )));
        }
        if let Some(before) = primaries_before {
            single_primary(&mut updated, &before, attribute)?;
        }
        put(root, urn, attribute.name(), updated);
        if let Some(urn) = urn {
            self.sync_extension(root, urn, extension_had_content);
        }
        touched.push(Touched { urn, attribute });
        Ok(())
    }

    /// Whether a `readOnly` target given in a path-less value says nothing new: `null`, or a
    /// value equal to the stored one (Okta sends `id` with the attributes it changes).
    fn read_only_unchanged(
        &self,
        root: &Map<String, Value>,
        step: &Step<'r>,
        action: Action<'_>,
    ) -> bool {
        let given = match action {
            Action::Add(value) | Action::Replace(value) => value,
            Action::Remove(_) => return false,
        };
        if given.is_null() {
            return true;
        }
        if !matches!(step.selector, Selector::Whole) {
            return false;
        }
        let attribute = step.attr.attribute();
        let current = stored(root, step.attr.extension_urn(), attribute.name());
        let label = step.label();
        match step.sub {
            None => self
                .checker
                .attribute(given, attribute, &label)
                .is_ok_and(|checked| agrees(current, &checked, attribute)),
            Some(_) if attribute.is_multi_valued() => false,
            Some(sub) => {
                let current = current
                    .and_then(Value::as_object)
                    .and_then(|object| member(object, sub.name()));
                self.checker
                    .attribute(given, sub, &label)
                    .is_ok_and(|checked| agrees(current, &checked, sub))
            }
        }
    }

    /// The attribute's new value, from its current one (`Value::Null` when unassigned).
    fn transform(
        &self,
        current: Value,
        step: &Step<'r>,
        action: Action<'_>,
    ) -> Result<Value, ScimError> {
        let attribute = step.attr.attribute();
        let label = step.label();
        match (&step.selector, step.sub) {
            (Selector::Whole, None) => match action {
                Action::Add(value) => self.add_whole(current, value, attribute, &label),
                Action::Replace(value) => self.replace_whole(current, value, attribute, &label),
                Action::Remove(value) => self.remove_whole(current, value, attribute, &label),
            },
            (Selector::Whole, Some(sub)) => {
                self.sub_everywhere(current, attribute, sub, action, &label)
            }
            (Selector::Filtered(filter), sub) => {
                self.filtered(current, attribute, filter, sub, action, &label)
            }
        }
    }

    /// RFC 7644 §3.5.2.1: set a singular simple value, merge into a complex one, append to a
    /// multi-valued one (leaving out values already there).
    fn add_whole(
        &self,
        current: Value,
        value: &Value,
        attribute: &'r Attribute,
        label: &str,
    ) -> Result<Value, ScimError> {
        let given = self.checker.attribute(value, attribute, label)?;
        if given.is_null() {
            return Ok(Value::Null);
        }
        if attribute.is_multi_valued() {
            let mut items = elements(current);
            self.append(&mut items, given, attribute, label)?;
            Ok(Value::Array(items))
        } else if attribute.is_complex() {
            self.merge_complex(
                current,
                given,
                attribute,
                label,
                ComplexReplace::MergeSubAttributes,
            )
        } else {
            Ok(given)
        }
    }

    /// RFC 7644 §3.5.2.3: replace a simple value or a whole collection; a singular complex
    /// value per [`PatchOptions::complex_replace`].
    fn replace_whole(
        &self,
        current: Value,
        value: &Value,
        attribute: &'r Attribute,
        label: &str,
    ) -> Result<Value, ScimError> {
        let given = self.checker.attribute(value, attribute, label)?;
        if given.is_null() {
            return Ok(Value::Null);
        }
        if attribute.is_multi_valued() {
            let mut items = Vec::new();
            self.append(&mut items, given, attribute, label)?;
            Ok(Value::Array(items))
        } else if attribute.is_complex() {
            self.merge_complex(
                current,
                given,
                attribute,
                label,
                self.options.complex_replace,
            )
        } else {
            Ok(given)
        }
    }

    /// RFC 7644 §3.5.2.2: the attribute becomes unassigned, except that a value on a
    /// multi-valued attribute lists the values to remove (Entra ID removes group members so).
    fn remove_whole(
        &self,
        current: Value,
        value: Option<&Value>,
        attribute: &'r Attribute,
        label: &str,
    ) -> Result<Value, ScimError> {
        match value {
            Some(listed) if attribute.is_multi_valued() && !listed.is_null() => {
                let listed = elements(self.checker.attribute(listed, attribute, label)?);
                let keys = ElementKeys::new(attribute);
                let gone: HashSet<ElementKey> = listed.iter().map(|item| keys.of(item)).collect();
                let kept = elements(current)
                    .into_iter()
                    .filter(|item| !gone.contains(&keys.of(item)))
                    .collect();
                Ok(Value::Array(kept))
            }
            _ => Ok(Value::Null),
        }
    }

    /// `attr.sub`: of a singular complex attribute, or of every value of a multi-valued one
    /// (an `add` or `replace` on one with no value creates one).
    fn sub_everywhere(
        &self,
        current: Value,
        attribute: &'r Attribute,
        sub: &'r Attribute,
        action: Action<'_>,
        label: &str,
    ) -> Result<Value, ScimError> {
        let value = match action {
            Action::Add(value) | Action::Replace(value) => {
                self.checker.attribute(value, sub, label)?
            }
            Action::Remove(_) => Value::Null,
        };
        if !attribute.is_multi_valued() {
            let existing = assigned(Some(&current), attribute);
            let mut object = into_object(current);
            merge_member(&mut object, sub, value, existing, label)?;
            return Ok(Value::Object(object));
        }
        let mut items = elements(current);
        if items.is_empty() {
            if !value.is_null() {
                let mut object = Map::new();
                merge_member(&mut object, sub, value, false, label)?;
                items.push(Value::Object(object));
            }
        } else {
            for item in &mut items {
                if let Value::Object(object) = item {
                    merge_member(object, sub, value.clone(), true, label)?;
                }
            }
        }
        Ok(Value::Array(items))
    }

    /// `attr[filter]` and `attr[filter].sub` (RFC 7644 §3.5.2.1–3).
    fn filtered(
        &self,
        current: Value,
        attribute: &'r Attribute,
        filter: &ElementFilter<'r>,
        sub: Option<&'r Attribute>,
        action: Action<'_>,
        label: &str,
    ) -> Result<Value, ScimError> {
        let mut items = elements(current);
        let selected: Vec<bool> = items.iter().map(|item| filter.matches(item)).collect();
        let any_selected = selected.contains(&true);
        let (value, is_add) = match action {
            Action::Remove(_) => {
                return match sub {
                    None => Ok(Value::Array(without(items, &selected))),
                    Some(sub) => {
                        for (item, _) in items.iter_mut().zip(&selected).filter(|(_, s)| **s) {
                            if let Value::Object(object) = item {
                                merge_member(object, sub, Value::Null, true, label)?;
                            }
                        }
                        Ok(Value::Array(items))
                    }
                };
            }
            Action::Add(value) => (value, true),
            Action::Replace(value) => (value, false),
        };
        let given = match sub {
            Some(sub) => self.checker.attribute(value, sub, label)?,
            None => self.checker.element(value, attribute, label)?,
        };

        if !any_selected {
            if !is_add
                && self.options.replace_missing_filter_target == MissingFilterTarget::NoTarget
            {
                return Err(ScimError::no_target(format!(
                    "no value of `{label}` matches the filter (RFC 7644 §3.5.2.3)"
                )));
            }
            if given.is_null() {
                return Ok(Value::Array(items));
            }
            let Some(conditions) = filter.conditions() else {
                return Err(ScimError::no_target(format!(
                    "no value of `{label}` matches the filter, and only `eq` conditions joined \
                     by `and` can describe a value to add"
                )));
            };
            let conditions =
                self.checker
                    .element(&Value::Object(conditions.clone()), attribute, label)?;
            let mut element = Map::new();
            merge_object(&mut element, conditions, attribute, false, label)?;
            match sub {
                Some(sub) => merge_member(&mut element, sub, given, false, label)?,
                None => merge_object(&mut element, given, attribute, false, label)?,
            }
            items.push(Value::Object(element));
            return Ok(Value::Array(items));
        }

        if given.is_null() && sub.is_none() {
            // `replace attr[filter]` with null: the selected values become unassigned.
            return Ok(Value::Array(without(items, &selected)));
        }
        let whole = !is_add && self.options.complex_replace == ComplexReplace::WholeValue;
        for (item, _) in items.iter_mut().zip(&selected).filter(|(_, s)| **s) {
            let Value::Object(object) = item else {
                continue;
            };
            match sub {
                Some(sub) => merge_member(object, sub, given.clone(), true, label)?,
                None => {
                    let mut given = given.clone();
                    if whole {
                        clear_unnamed(&mut given, object, attribute);
                    }
                    merge_object(object, given, attribute, true, label)?;
                }
            }
        }
        Ok(Value::Array(items))
    }

    /// Appends the values of `given` (checked, an array) that `items` does not hold yet.
    fn append(
        &self,
        items: &mut Vec<Value>,
        given: Value,
        attribute: &'r Attribute,
        label: &str,
    ) -> Result<(), ScimError> {
        // `given` comes from `Checker::attribute`, which refuses more than one primary value.
        let given = elements(given);
        let keys = ElementKeys::new(attribute);
        // Every element held so far, the stored ones and those this operation added, by key:
        // one hash lookup per given value, however many values there are.
        let mut held: HashSet<ElementKey> = items.iter().map(|item| keys.of(item)).collect();
        items.reserve(given.len());
        for item in given {
            let item = if attribute.is_complex() {
                let mut object = Map::new();
                merge_object(&mut object, item, attribute, false, label)?;
                tidy(Value::Object(object), attribute)
            } else {
                item
            };
            if !item.is_null() && held.insert(keys.of(&item)) {
                items.push(item);
            }
        }
        Ok(())
    }

    /// Merges a checked complex value into a singular complex attribute's current value.
    fn merge_complex(
        &self,
        current: Value,
        given: Value,
        attribute: &'r Attribute,
        label: &str,
        mode: ComplexReplace,
    ) -> Result<Value, ScimError> {
        let existing = assigned(Some(&current), attribute);
        let mut object = into_object(current);
        let mut given = given;
        if mode == ComplexReplace::WholeValue {
            clear_unnamed(&mut given, &object, attribute);
        }
        merge_object(&mut object, given, attribute, existing, label)?;
        Ok(Value::Object(object))
    }

    /// Adds the extension's URN to `schemas` when it holds attributes, and drops its emptied
    /// object and URN when its last attribute went.
    fn sync_extension(&self, root: &mut Map<String, Value>, urn: &str, had_content: bool) {
        let empty = match member(root, urn) {
            Some(Value::Object(object)) => object.is_empty(),
            Some(_) => false,
            None => true,
        };
        if !empty {
            let core = self.resource_type.core_schema().id();
            add_schema_urn(root, core, urn);
        } else if had_content {
            remove_member(root, urn);
            drop_schema_urn(root, urn);
        }
    }
}

/// Sets or clears (`Value::Null`) one sub-attribute of a complex value, enforcing its
/// mutability. `existing` says whether the complex value was already stored (an `immutable`
/// sub-attribute of a new value may be set).
fn merge_member(
    object: &mut Map<String, Value>,
    sub: &Attribute,
    value: Value,
    existing: bool,
    label: &str,
) -> Result<(), ScimError> {
    let current = member(object, sub.name());
    match sub.mutability() {
        Mutability::ReadOnly => {
            // Sent back unchanged (or as null) it is harmless; anything else would change it.
            if agrees(current, &value, sub) {
                return Ok(());
            }
            return Err(read_only_error(&sub_label(label, sub)));
        }
        Mutability::Immutable
            if existing && assigned(current, sub) && !same_value(current, Some(&value), sub) =>
        {
            return Err(immutable_error(&sub_label(label, sub)));
        }
        Mutability::Immutable | Mutability::ReadWrite | Mutability::WriteOnly => {}
    }
    remove_member(object, sub.name());
    if !value.is_null() {
        object.insert(sub.name().to_owned(), value);
    }
    Ok(())
}

/// Merges the members of `given` (a checked complex value) into `object`.
fn merge_object(
    object: &mut Map<String, Value>,
    given: Value,
    attribute: &Attribute,
    existing: bool,
    label: &str,
) -> Result<(), ScimError> {
    let Value::Object(given) = given else {
        return Err(ScimError::invalid_value(format!(
            "`{label}` takes an object of sub-attributes"
        )));
    };
    for (key, value) in given {
        if let Some(sub) = attribute.sub_attribute(&key) {
            merge_member(object, sub, value, existing, label)?;
        }
    }
    Ok(())
}

/// For a whole-value replace: every stored sub-attribute `given` does not name is given as
/// `null`, so that merging clears it.
fn clear_unnamed(given: &mut Value, stored: &Map<String, Value>, attribute: &Attribute) {
    let Value::Object(given) = given else {
        return;
    };
    for sub in attribute.sub_attributes() {
        if member(stored, sub.name()).is_some() && member(given, sub.name()).is_none() {
            given.insert(sub.name().to_owned(), Value::Null);
        }
    }
}

/// `attr.sub` in error details, unless `label` already ends with the sub-attribute.
fn sub_label(label: &str, sub: &Attribute) -> String {
    let suffix = format!(".{}", sub.name());
    if label.ends_with(&suffix) {
        label.to_owned()
    } else {
        format!("{label}{suffix}")
    }
}

/// After an operation, at most one value is primary: one the operation made primary clears
/// the others (RFC 7644 §3.5.2). Several made primary at once is an invalid value.
fn single_primary(
    updated: &mut Value,
    primaries_before: &[Value],
    attribute: &Attribute,
) -> Result<(), ScimError> {
    let Some(primary) = attribute.sub_attribute("primary") else {
        return Ok(());
    };
    let Value::Array(items) = updated else {
        return Ok(());
    };
    let is_primary = |item: &Value| {
        item.as_object()
            .and_then(|object| member(object, primary.name()))
            == Some(&Value::Bool(true))
    };
    // The primary values the operation made: those beyond the ones there before, counted as a
    // multiset, since a value made primary may equal one that already was.
    let mut before: Vec<&Value> = primaries_before.iter().collect();
    let fresh: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| is_primary(item))
        .filter(
            |(_, item)| match before.iter().position(|old| old == item) {
                Some(at) => {
                    before.swap_remove(at);
                    false
                }
                None => true,
            },
        )
        .map(|(index, _)| index)
        .collect();
    let [chosen] = fresh.as_slice() else {
        if fresh.is_empty() {
            return Ok(());
        }
        return Err(ScimError::invalid_value(format!(
            "{} values of `{}` would be primary; \"the primary attribute value 'true' MUST \
             appear no more than once\" (RFC 7643 §2.4)",
            fresh.len(),
            attribute.name()
        )));
    };
    for (index, item) in items.iter_mut().enumerate() {
        if index != *chosen && is_primary(item) {
            if let Value::Object(object) = item {
                remove_member(object, primary.name());
                object.insert(primary.name().to_owned(), Value::Bool(false));
            }
        }
    }
    Ok(())
}

/// Every value of a complex attribute keeps its `required` sub-attributes (`readOnly` ones
/// excepted: the server sets them). Taking one away is `mutability` (RFC 7644 §3.5.2.2);
/// giving a value without one is `invalidValue`, as validation answers on POST and PUT.
fn check_required_subs(
    value: &Value,
    attribute: &Attribute,
    label: &str,
    action: Action<'_>,
) -> Result<(), ScimError> {
    if !attribute.is_complex() || value.is_null() {
        return Ok(());
    }
    let required = attribute
        .sub_attributes()
        .iter()
        .filter(|sub| sub.is_required() && sub.mutability() != Mutability::ReadOnly);
    for sub in required {
        let missing = values_of(value, attribute).any(|item| {
            !assigned(
                item.as_object()
                    .and_then(|object| member(object, sub.name())),
                sub,
            )
        });
        if missing {
            let name = format!("{label}.{}", sub.name());
            return Err(match action {
                Action::Remove(_) => required_error(&name),
                Action::Add(_) | Action::Replace(_) => ScimError::invalid_value(format!(
                    "required sub-attribute `{name}` is missing or empty"
                )),
            });
        }
    }
    Ok(())
}

/// The values of a multi-valued complex attribute with a `primary` sub-attribute that are
/// primary; `None` for other attributes.
fn primary_values(current: Option<&Value>, attribute: &Attribute) -> Option<Vec<Value>> {
    if !(attribute.is_multi_valued() && attribute.is_complex()) {
        return None;
    }
    let primary = attribute.sub_attribute("primary")?;
    let Some(Value::Array(items)) = current else {
        return Some(Vec::new());
    };
    Some(
        items
            .iter()
            .filter(|item| {
                item.as_object()
                    .and_then(|object| member(object, primary.name()))
                    == Some(&Value::Bool(true))
            })
            .cloned()
            .collect(),
    )
}

/// The values of a multi-valued attribute's stored value: an array's elements, a lone value,
/// or none.
fn elements(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        lone => vec![lone],
    }
}

/// `items` without the selected ones.
fn without(items: Vec<Value>, selected: &[bool]) -> Vec<Value> {
    items
        .into_iter()
        .zip(selected)
        .filter(|(_, selected)| !**selected)
        .map(|(item, _)| item)
        .collect()
}

/// A stored complex value as an object; anything else (unassigned, or not an object) as an
/// empty one.
fn into_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(object) => object,
        _ => Map::new(),
    }
}

/// The stored value of a top-level attribute: a member of the resource, or of the object under
/// its extension's URN. Names compare case-insensitively.
pub(super) fn stored<'v>(
    root: &'v Map<String, Value>,
    urn: Option<&str>,
    name: &str,
) -> Option<&'v Value> {
    let container = match urn {
        Some(urn) => member(root, urn)?.as_object()?,
        None => root,
    };
    member(container, name)
}

/// Removes a top-level attribute (every spelling of its name) and returns its value.
fn take(root: &mut Map<String, Value>, urn: Option<&str>, name: &str) -> Value {
    let container = match urn {
        None => Some(root),
        Some(urn) => member_key(root, urn)
            .map(str::to_owned)
            .and_then(|key| root.get_mut(&key))
            .and_then(Value::as_object_mut),
    };
    container
        .and_then(|container| remove_member(container, name))
        .unwrap_or(Value::Null)
}

/// Stores a top-level attribute under its canonical name (and an extension's object under the
/// extension's canonical URN); `Value::Null` stores nothing.
fn put(root: &mut Map<String, Value>, urn: Option<&str>, name: &str, value: Value) {
    if value.is_null() {
        return;
    }
    match urn {
        None => {
            root.insert(name.to_owned(), value);
        }
        Some(urn) => {
            let mut object = match remove_member(root, urn) {
                Some(Value::Object(object)) => object,
                _ => Map::new(),
            };
            object.insert(name.to_owned(), value);
            root.insert(urn.to_owned(), Value::Object(object));
        }
    }
}

/// Adds `urn` to `schemas` if it is not there (creating `schemas` with the core URN if the
/// resource has none).
fn add_schema_urn(root: &mut Map<String, Value>, core: &str, urn: &str) {
    let key = member_key(root, "schemas").map(str::to_owned);
    match key.and_then(|key| root.get_mut(&key)) {
        Some(Value::Array(list)) => {
            let present = list
                .iter()
                .any(|entry| entry.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
            if !present {
                list.push(Value::String(urn.to_owned()));
            }
        }
        Some(_) => {}
        None => {
            root.insert(
                "schemas".to_owned(),
                Value::Array(vec![
                    Value::String(core.to_owned()),
                    Value::String(urn.to_owned()),
                ]),
            );
        }
    }
}

/// Removes `urn` from `schemas`.
fn drop_schema_urn(root: &mut Map<String, Value>, urn: &str) {
    let key = member_key(root, "schemas").map(str::to_owned);
    if let Some(Value::Array(list)) = key.and_then(|key| root.get_mut(&key)) {
        list.retain(|entry| !entry.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}

fn read_only_error(name: &str) -> ScimError {
    ScimError::mutability(format!(
        "`{name}` is readOnly and cannot be changed (RFC 7643 §2.2)"
    ))
}

fn immutable_error(name: &str) -> ScimError {
    ScimError::mutability(format!(
        "`{name}` is immutable and already has a value (RFC 7643 §2.2)"
    ))
}

fn required_error(name: &str) -> ScimError {
    ScimError::mutability(format!(
        "`{name}` is required and cannot be removed (RFC 7644 §3.5.2.2)"
    ))
}
