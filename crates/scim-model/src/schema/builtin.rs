//! The built-in schemas and resource types, attribute by attribute from RFC 7643 §3.1, §4.1,
//! §4.2, §4.3 and the §8.7.1 representation.
//!
//! Where §8.7.1 disagrees with the normative text (known errata), the normative text wins:
//! - Group `displayName` is `required` (§4.2 says REQUIRED; verified erratum 5368);
//! - Group `members` has a `display` sub-attribute, immutable like the others (§2.4, §4.2 and
//!   the §8.4 example use it; §8.7.1 leaves it out);
//! - User `addresses` has a `primary` sub-attribute (§2.4, §4.1.2 and the §8.2 example use it;
//!   §8.7.1 leaves it out);
//! - User `groups.$ref` refers to `Group` only (§4.1.2: "the URI of the corresponding 'Group'
//!   resources"; §8.7.1 says `User` and `Group`);
//! - `value` sub-attributes that hold a resource `id` are `caseExact`, as `id` is (§3.1): User
//!   `groups.value`, Group `members.value` and Enterprise `manager.value` (verified erratum 8472
//!   for the latter);
//! - `x509Certificates.value` is `caseExact` and has no `uniqueness`, as every `binary` (§2.3.6);
//! - Enterprise `manager.value` and `manager.$ref` are described as RECOMMENDED (§4.3), not
//!   REQUIRED;
//! - `canonicalValues: []` of §8.7.1 (roles and x509Certificates `type`) is left out: an empty
//!   list declares nothing.

use super::{Attribute, AttributeType, Mutability, ResourceType, Returned, Schema, Uniqueness};

/// `urn:ietf:params:scim:schemas:core:2.0:User` (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:Group` (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:Schema`, carried by schema resources (RFC 7643 §7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// `urn:ietf:params:scim:schemas:core:2.0:ResourceType` (RFC 7643 §6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// `urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig` (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

const READ_ONLY_DISPLAY: &str =
    "A human-readable name, primarily used for display purposes.  READ-ONLY.";

/// A `string` attribute as §8.7.1 writes one: `caseExact` false, `uniqueness` none.
fn string(name: &str, description: &str) -> Attribute {
    Attribute::new(name, AttributeType::String)
        .with_description(description)
        .with_case_exact(false)
        .with_uniqueness(Uniqueness::None)
}

/// A `reference` attribute as §8.7.1 writes one.
fn reference(name: &str, description: &str, reference_types: &[&str]) -> Attribute {
    Attribute::new(name, AttributeType::Reference)
        .with_description(description)
        .with_reference_types(reference_types.iter().copied())
        .with_case_exact(false)
        .with_uniqueness(Uniqueness::None)
}

/// A `boolean` attribute: §8.7.1 gives booleans neither `caseExact` nor `uniqueness`.
fn boolean(name: &str, description: &str) -> Attribute {
    Attribute::new(name, AttributeType::Boolean).with_description(description)
}

/// A `complex` attribute with its sub-attributes.
fn complex(name: &str, description: &str, sub_attributes: Vec<Attribute>) -> Attribute {
    Attribute::new(name, AttributeType::Complex)
        .with_description(description)
        .with_sub_attributes(sub_attributes)
}

/// The `primary` sub-attribute of a multi-valued attribute (§2.4).
fn primary(example: &str) -> Attribute {
    boolean(
        "primary",
        &format!(
            "A Boolean value indicating the 'primary' or preferred attribute value for this \
             attribute{example}.  The primary attribute value 'true' MUST appear no more than once."
        ),
    )
}

/// The attributes every resource has: `schemas` (RFC 7643 §3) and the common attributes of
/// §3.1, `id`, `externalId` and `meta`.
///
/// They belong to no schema and are not listed in the served schemas (§8.7.1 leaves them out),
/// but the registry resolves them for every resource type, so that filters such as
/// `schemas eq "…"` (RFC 7644 §3.4.2.2) and `meta.lastModified gt "…"` work.
pub fn common_attributes() -> Vec<Attribute> {
    vec![
        reference(
            "schemas",
            "The URIs of the schemas the resource's attributes are defined in.  REQUIRED.",
            &["uri"],
        )
        .with_multi_valued(true)
        .with_required(true)
        .with_returned(Returned::Always),
        string(
            "id",
            "A unique identifier for a SCIM resource as defined by the service provider.  \
             Assigned by the service provider; a client never sets it.",
        )
        .with_case_exact(true)
        .with_mutability(Mutability::ReadOnly)
        .with_returned(Returned::Always)
        .with_uniqueness(Uniqueness::Server),
        string(
            "externalId",
            "A String that is an identifier for the resource as defined by the provisioning \
             client.",
        )
        .with_case_exact(true),
        complex(
            "meta",
            "A complex attribute containing resource metadata.  All sub-attributes are \
             assigned by the service provider.",
            vec![
                string(
                    "resourceType",
                    "The name of the resource type of the resource.",
                )
                .with_case_exact(true)
                .with_mutability(Mutability::ReadOnly),
                Attribute::new("created", AttributeType::DateTime)
                    .with_description(
                        "The \"DateTime\" that the resource was added to the service provider.",
                    )
                    .with_mutability(Mutability::ReadOnly),
                Attribute::new("lastModified", AttributeType::DateTime)
                    .with_description(
                        "The most recent DateTime that the details of this resource were \
                         updated at the service provider.",
                    )
                    .with_mutability(Mutability::ReadOnly),
                reference(
                    "location",
                    "The URI of the resource being returned.",
                    &["uri"],
                )
                .with_case_exact(true)
                .with_mutability(Mutability::ReadOnly),
                string("version", "The version of the resource being returned.")
                    .with_case_exact(true)
                    .with_mutability(Mutability::ReadOnly),
            ],
        )
        .with_mutability(Mutability::ReadOnly),
    ]
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    Schema::new(
        USER,
        "User",
        "User Account",
        vec![
            string(
                "userName",
                "Unique identifier for the User, typically used by the user to directly \
                 authenticate to the service provider. Each User MUST include a non-empty \
                 userName value.  This identifier MUST be unique across the service provider's \
                 entire set of Users. REQUIRED.",
            )
            .with_required(true)
            .with_uniqueness(Uniqueness::Server),
            complex(
                "name",
                "The components of the user's real name. Providers MAY return just the full \
                 name as a single string in the formatted sub-attribute, or they MAY return just \
                 the individual component attributes using the other sub-attributes, or they MAY \
                 return both.  If both variants are returned, they SHOULD be describing the same \
                 name, with the formatted name indicating how the component attributes should be \
                 combined.",
                vec![
                    string(
                        "formatted",
                        "The full name, including all middle names, titles, and suffixes as \
                         appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
                    ),
                    string(
                        "familyName",
                        "The family name of the User, or last name in most Western languages \
                         (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III').",
                    ),
                    string(
                        "givenName",
                        "The given name of the User, or first name in most Western languages \
                         (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III').",
                    ),
                    string(
                        "middleName",
                        "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. \
                         Barbara J Jensen, III').",
                    ),
                    string(
                        "honorificPrefix",
                        "The honorific prefix(es) of the User, or title in most Western \
                         languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III').",
                    ),
                    string(
                        "honorificSuffix",
                        "The honorific suffix(es) of the User, or suffix in most Western \
                         languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III').",
                    ),
                ],
            ),
            string(
                "displayName",
                "The name of the User, suitable for display to end-users.  The name SHOULD be \
                 the full name of the User being described, if known.",
            ),
            string(
                "nickName",
                "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead \
                 of 'Robert'.  This attribute SHOULD NOT be used to represent a User's username \
                 (e.g., 'bjensen' or 'mpepperidge').",
            ),
            reference(
                "profileUrl",
                "A fully qualified URL pointing to a page representing the User's online \
                 profile.",
                &["external"],
            ),
            string("title", "The user's title, such as \"Vice President.\""),
            string(
                "userType",
                "Used to identify the relationship between the organization and the user.  \
                 Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', \
                 'External', and 'Unknown', but any value may be used.",
            ),
            string(
                "preferredLanguage",
                "Indicates the User's preferred written or spoken language.  Generally used for \
                 selecting a localized user interface; e.g., 'en_US' specifies the language \
                 English and country US.",
            ),
            string(
                "locale",
                "Used to indicate the User's default location for purposes of localizing items \
                 such as currency, date time format, or numerical representations.",
            ),
            string(
                "timezone",
                "The User's time zone in the 'Olson' time zone database format, e.g., \
                 'America/Los_Angeles'.",
            ),
            boolean(
                "active",
                "A Boolean value indicating the User's administrative status.",
            ),
            string(
                "password",
                "The User's cleartext password.  This attribute is intended to be used as a \
                 means to specify an initial password when creating a new User or to reset an \
                 existing User's password.",
            )
            .with_mutability(Mutability::WriteOnly)
            .with_returned(Returned::Never),
            complex(
                "emails",
                "Email addresses for the user.  The value SHOULD be canonicalized by the service \
                 provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. \
                 Canonical type values of 'work', 'home', and 'other'.",
                vec![
                    string(
                        "value",
                        "Email addresses for the user.  The value SHOULD be canonicalized by the \
                         service provider, e.g., 'bjensen@example.com' instead of \
                         'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and \
                         'other'.",
                    ),
                    string("display", READ_ONLY_DISPLAY),
                    string(
                        "type",
                        "A label indicating the attribute's function, e.g., 'work' or 'home'.",
                    )
                    .with_canonical_values(["work", "home", "other"]),
                    primary(", e.g., the preferred mailing address or primary email address"),
                ],
            )
            .with_multi_valued(true)
            .with_uniqueness(Uniqueness::None),
            complex(
                "phoneNumbers",
                "Phone numbers for the User.  The value SHOULD be canonicalized by the service \
                 provider according to the format specified in RFC 3966, e.g., \
                 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', \
                 'fax', 'pager', and 'other'.",
                vec![
                    string("value", "Phone number of the User."),
                    string("display", READ_ONLY_DISPLAY),
                    string(
                        "type",
                        "A label indicating the attribute's function, e.g., 'work', 'home', \
                         'mobile'.",
                    )
                    .with_canonical_values(["work", "home", "mobile", "fax", "pager", "other"]),
                    primary(", e.g., the preferred phone number or primary phone number"),
                ],
            )
            .with_multi_valued(true),
            complex(
                "ims",
                "Instant messaging addresses for the User.",
                vec![
                    string("value", "Instant messaging address for the User."),
                    string("display", READ_ONLY_DISPLAY),
                    string(
                        "type",
                        "A label indicating the attribute's function, e.g., 'aim', 'gtalk', \
                         'xmpp'.",
                    )
                    .with_canonical_values([
                        "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo",
                    ]),
                    primary(", e.g., the preferred messenger or primary messenger"),
                ],
            )
            .with_multi_valued(true),
            complex(
                "photos",
                "URLs of photos of the User.",
                vec![
                    reference("value", "URL of a photo of the User.", &["external"]),
                    string("display", READ_ONLY_DISPLAY),
                    string(
                        "type",
                        "A label indicating the attribute's function, i.e., 'photo' or \
                         'thumbnail'.",
                    )
                    .with_canonical_values(["photo", "thumbnail"]),
                    primary(", e.g., the preferred photo or thumbnail"),
                ],
            )
            .with_multi_valued(true),
            complex(
                "addresses",
                "A physical mailing address for this User. Canonical type values of 'work', \
                 'home', and 'other'.  This attribute is a complex type with the following \
                 sub-attributes.",
                vec![
                    string(
                        "formatted",
                        "The full mailing address, formatted for display or use with a mailing \
                         label.  This attribute MAY contain newlines.",
                    ),
                    string(
                        "streetAddress",
                        "The full street address component, which may include house number, \
                         street name, P.O. box, and multi-line extended street address \
                         information.  This attribute MAY contain newlines.",
                    ),
                    string("locality", "The city or locality component."),
                    string("region", "The state or region component."),
                    string("postalCode", "The zip code or postal code component."),
                    string("country", "The country name component."),
                    string(
                        "type",
                        "A label indicating the attribute's function, e.g., 'work' or 'home'.",
                    )
                    .with_canonical_values(["work", "home", "other"]),
                    primary(", e.g., the preferred mailing address or primary address"),
                ],
            )
            .with_multi_valued(true)
            .with_uniqueness(Uniqueness::None),
            complex(
                "groups",
                "A list of groups to which the user belongs, either through direct membership, \
                 through nested groups, or dynamically calculated.",
                vec![
                    string("value", "The identifier of the User's group.")
                        .with_case_exact(true)
                        .with_mutability(Mutability::ReadOnly),
                    reference(
                        "$ref",
                        "The URI of the corresponding 'Group' resource to which the user \
                         belongs.",
                        &["Group"],
                    )
                    .with_mutability(Mutability::ReadOnly),
                    string("display", READ_ONLY_DISPLAY).with_mutability(Mutability::ReadOnly),
                    string(
                        "type",
                        "A label indicating the attribute's function, e.g., 'direct' or \
                         'indirect'.",
                    )
                    .with_canonical_values(["direct", "indirect"])
                    .with_mutability(Mutability::ReadOnly),
                ],
            )
            .with_multi_valued(true)
            .with_mutability(Mutability::ReadOnly),
            complex(
                "entitlements",
                "A list of entitlements for the User that represent a thing the User has.",
                vec![
                    string("value", "The value of an entitlement."),
                    string("display", READ_ONLY_DISPLAY),
                    string("type", "A label indicating the attribute's function."),
                    primary(""),
                ],
            )
            .with_multi_valued(true),
            complex(
                "roles",
                "A list of roles for the User that collectively represent who the User is, \
                 e.g., 'Student', 'Faculty'.",
                vec![
                    string("value", "The value of a role."),
                    string("display", READ_ONLY_DISPLAY),
                    string("type", "A label indicating the attribute's function."),
                    primary(""),
                ],
            )
            .with_multi_valued(true),
            complex(
                "x509Certificates",
                "A list of certificates issued to the User.",
                vec![
                    Attribute::new("value", AttributeType::Binary)
                        .with_description("The value of an X.509 certificate.")
                        .with_case_exact(true),
                    string("display", READ_ONLY_DISPLAY),
                    string("type", "A label indicating the attribute's function."),
                    primary(""),
                ],
            )
            .with_multi_valued(true),
        ],
    )
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub fn group_schema() -> Schema {
    Schema::new(
        GROUP,
        "Group",
        "Group",
        vec![
            string(
                "displayName",
                "A human-readable name for the Group. REQUIRED.",
            )
            .with_required(true),
            complex(
                "members",
                "A list of members of the Group.",
                vec![
                    string("value", "Identifier of the member of this Group.")
                        .with_case_exact(true)
                        .with_mutability(Mutability::Immutable),
                    reference(
                        "$ref",
                        "The URI corresponding to a SCIM resource that is a member of this \
                         Group.",
                        &["User", "Group"],
                    )
                    .with_mutability(Mutability::Immutable),
                    string(
                        "display",
                        "A human-readable name, primarily used for display purposes.",
                    )
                    .with_mutability(Mutability::Immutable),
                    string(
                        "type",
                        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                    )
                    .with_canonical_values(["User", "Group"])
                    .with_mutability(Mutability::Immutable),
                ],
            )
            .with_multi_valued(true),
        ],
    )
}

/// The Enterprise User extension schema (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema::new(
        ENTERPRISE_USER,
        "EnterpriseUser",
        "Enterprise User",
        vec![
            string(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person, typically based on \
                 order of hire or association with an organization.",
            ),
            string("costCenter", "Identifies the name of a cost center."),
            string("organization", "Identifies the name of an organization."),
            string("division", "Identifies the name of a division."),
            string("department", "Identifies the name of a department."),
            complex(
                "manager",
                "The User's manager.  A complex type that optionally allows service providers \
                 to represent organizational hierarchy by referencing the 'id' attribute of \
                 another User.",
                vec![
                    string(
                        "value",
                        "The id of the SCIM resource representing the User's manager.  \
                         RECOMMENDED.",
                    )
                    .with_case_exact(true),
                    reference(
                        "$ref",
                        "The URI of the SCIM resource representing the User's manager.  \
                         RECOMMENDED.",
                        &["User"],
                    ),
                    string(
                        "displayName",
                        "The displayName of the User's manager. OPTIONAL and READ-ONLY.",
                    )
                    .with_mutability(Mutability::ReadOnly),
                ],
            ),
        ],
    )
}

/// The User resource type: `/Users`, core User schema, optional Enterprise User extension.
pub fn user_resource_type() -> ResourceType {
    ResourceType::new("User", "/Users", "User Account", USER).with_extension(ENTERPRISE_USER, false)
}

/// The Group resource type: `/Groups`, core Group schema.
pub fn group_resource_type() -> ResourceType {
    ResourceType::new("Group", "/Groups", "Group", GROUP)
}
