//! `sortBy` (RFC 7644 §3.4.2.3): which attribute a listing may be sorted by.

use scim_filter::PatchPath;

use crate::error::ScimError;
use crate::schema::{ResolvedAttribute, ResourceTypeView, Returned};

/// The attribute `sort_by` names, resolved against `resource_type`, if results may be sorted
/// by it.
///
/// ```
/// use scim_model::schema::SchemaRegistry;
/// use scim_model::sort::sort_attribute;
///
/// let registry = SchemaRegistry::standard();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// assert_eq!(sort_attribute(users, "name.FamilyName")?.to_string(), "name.familyName");
/// assert_eq!(sort_attribute(users, "password").unwrap_err().status(), 400);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// 400 `invalidValue` for text that is not an attribute path, an attribute the resource type
/// does not have, or one that is never returned: sorting by `password` would reveal the order
/// of values no client may read.
pub fn sort_attribute<'r>(
    resource_type: ResourceTypeView<'r>,
    sort_by: &str,
) -> Result<ResolvedAttribute<'r>, ScimError> {
    let attr = match scim_filter::parse_path(sort_by) {
        Ok(PatchPath::Attr(attr)) => attr,
        _ => {
            return Err(ScimError::invalid_value(format!(
                "`sortBy` must be an attribute path, not {sort_by:?}"
            )))
        }
    };
    let resolved = resource_type
        .resolve(attr.urn.as_deref(), &attr.name, attr.sub_attr.as_deref())
        .map_err(|e| ScimError::invalid_value(format!("`sortBy`: {e}")))?;
    if resolved.target().returned() == Returned::Never {
        return Err(ScimError::invalid_value(format!(
            "`sortBy`: `{resolved}` is never returned, so results cannot be sorted by it"
        )));
    }
    Ok(resolved)
}
