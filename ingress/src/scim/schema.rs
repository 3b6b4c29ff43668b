//! Static attribute definitions of the SCIM schemas the bridge serves
//! (core User, enterprise User extension, Group; RFC 7643 §4, §8.7.1) and
//! attribute-path resolution against them.
//!
//! One table drives type checks in filters, PATCH path resolution, document
//! validation and the `/Schemas` discovery answer, so they cannot disagree.

use super::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7 "attributes").
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub sub: &'static [AttrDef],
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    /// Complex attribute whose sub-attributes are tenant-defined (`custom_fields`):
    /// any sub-attribute name is accepted and typed by its JSON value.
    pub open: bool,
    pub description: &'static str,
}

impl AttrDef {
    const fn base(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
        AttrDef {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            sub: &[],
            canonical: &[],
            reference_types: &[],
            open: false,
            description,
        }
    }
    const fn multi(self) -> Self {
        AttrDef {
            multi: true,
            ..self
        }
    }
    const fn required(self) -> Self {
        AttrDef {
            required: true,
            ..self
        }
    }
    const fn exact(self) -> Self {
        AttrDef {
            case_exact: true,
            ..self
        }
    }
    const fn read_only(self) -> Self {
        AttrDef {
            mutability: Mutability::ReadOnly,
            ..self
        }
    }
    const fn immutable(self) -> Self {
        AttrDef {
            mutability: Mutability::Immutable,
            ..self
        }
    }
    const fn returned(self, returned: Returned) -> Self {
        AttrDef { returned, ..self }
    }
    const fn unique(self, uniqueness: Uniqueness) -> Self {
        AttrDef { uniqueness, ..self }
    }
    const fn canonical(self, canonical: &'static [&'static str]) -> Self {
        AttrDef { canonical, ..self }
    }
    const fn refs(self, reference_types: &'static [&'static str]) -> Self {
        AttrDef {
            reference_types,
            ..self
        }
    }
    const fn write_only(self) -> Self {
        AttrDef {
            mutability: Mutability::WriteOnly,
            returned: Returned::Never,
            ..self
        }
    }

    /// Sub-attribute by name, case-insensitively.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub, name)
    }
}

const fn s(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::base(name, AttrType::String, d)
}
const fn b(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::base(name, AttrType::Boolean, d)
}
const fn r(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::base(name, AttrType::Reference, d)
}
const fn dt(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::base(name, AttrType::DateTime, d)
}
const fn c(name: &'static str, sub: &'static [AttrDef], d: &'static str) -> AttrDef {
    AttrDef {
        sub,
        ..AttrDef::base(name, AttrType::Complex, d)
    }
}

/// value/display/type/primary, the usual multi-valued shape, with `type`'s canonical values.
macro_rules! mv_sub {
    ($value:expr, $types:expr) => {
        &[
            $value,
            s(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            s("type", "A label indicating the attribute's function.").canonical($types),
            b(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ]
    };
}

/// `schemas`, `id`, `externalId`, `meta` (RFC 7643 §3, §3.1), common to every resource.
pub static COMMON_ATTRS: &[AttrDef] = &[
    r("schemas", "The schema URNs the resource conforms to.")
        .multi()
        .refs(&["uri"])
        .returned(Returned::Always),
    s(
        "id",
        "Unique identifier for the SCIM resource, assigned by the service provider.",
    )
    .exact()
    .read_only()
    .returned(Returned::Always)
    .unique(Uniqueness::Server),
    s(
        "externalId",
        "Identifier of the resource as defined by the provisioning client.",
    )
    .exact(),
    c(
        "meta",
        &[
            s(
                "resourceType",
                "The name of the resource type of the resource.",
            )
            .exact()
            .read_only(),
            dt("created", "The date and time the resource was added.").read_only(),
            dt(
                "lastModified",
                "The date and time the resource was last modified.",
            )
            .read_only(),
            r("location", "The URI of the resource being returned.")
                .exact()
                .read_only()
                .refs(&["uri"]),
            s("version", "The version (ETag) of the resource.")
                .exact()
                .read_only(),
        ],
        "Resource metadata.",
    )
    .read_only(),
];

/// Core User attributes (RFC 7643 §4.1 and §8.7.1), plus the bridge's `custom_fields`.
pub static USER_ATTRS: &[AttrDef] = &[
    s("userName", "Unique identifier for the User, typically used to sign in.")
        .required()
        .unique(Uniqueness::Server),
    c(
        "name",
        &[
            s("formatted", "The full name, formatted for display."),
            s("familyName", "The family name of the User (last name)."),
            s("givenName", "The given name of the User (first name)."),
            s("middleName", "The middle name(s) of the User."),
            s("honorificPrefix", "The honorific prefix(es) of the User."),
            s("honorificSuffix", "The honorific suffix(es) of the User."),
        ],
        "The components of the user's real name.",
    ),
    s("displayName", "The name of the User, suitable for display to end-users."),
    s("nickName", "The casual way to address the user in real life."),
    r("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.")
        .refs(&["external"]),
    s("title", "The user's title, such as \"Vice President\"."),
    s("userType", "Used to identify the relationship between the organization and the user."),
    s("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    s("locale", "Used to indicate the User's default location for localization (e.g. en-US)."),
    s("timezone", "The User's time zone in the IANA Time Zone database format (e.g. America/Los_Angeles)."),
    b("active", "A Boolean value indicating the User's administrative status."),
    s("password", "The User's cleartext password; accepted and discarded by this bridge.").write_only(),
    c(
        "emails",
        mv_sub!(
            s("value", "Email address for the User."),
            &["work", "home", "other"]
        ),
        "Email addresses for the user.",
    )
    .multi(),
    c(
        "phoneNumbers",
        mv_sub!(
            s("value", "Phone number of the User."),
            &["work", "home", "mobile", "fax", "pager", "other"]
        ),
        "Phone numbers for the User.",
    )
    .multi(),
    c(
        "ims",
        mv_sub!(
            s("value", "Instant messaging address for the User."),
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
        ),
        "Instant messaging addresses for the User.",
    )
    .multi(),
    c(
        "photos",
        mv_sub!(
            r("value", "URL of a photo of the User.").exact().refs(&["external"]),
            &["photo", "thumbnail"]
        ),
        "URLs of photos of the User.",
    )
    .multi(),
    c(
        "addresses",
        &[
            s("formatted", "The full mailing address, formatted for display."),
            s("streetAddress", "The full street address component."),
            s("locality", "The city or locality component."),
            s("region", "The state or region component."),
            s("postalCode", "The zip code or postal code component."),
            s("country", "The country name component."),
            s("type", "A label indicating the attribute's function.")
                .canonical(&["work", "home", "other"]),
            b("primary", "A Boolean value indicating the primary address."),
        ],
        "A physical mailing address for this User.",
    )
    .multi(),
    c(
        "groups",
        &[
            s("value", "The identifier of the User's group.").read_only(),
            r("$ref", "The URI of the corresponding 'Group' resource.")
                .read_only()
                .refs(&["User", "Group"]),
            s("display", "A human-readable name.").read_only(),
            s("type", "Direct or indirect membership.")
                .read_only()
                .canonical(&["direct", "indirect"]),
        ],
        "A list of groups to which the user belongs; read-only, managed through Groups.",
    )
    .multi()
    .read_only(),
    c(
        "entitlements",
        mv_sub!(s("value", "The value of an entitlement."), &[]),
        "A list of entitlements for the User.",
    )
    .multi(),
    c(
        "roles",
        mv_sub!(s("value", "The value of a role."), &[]),
        "A list of roles for the User.",
    )
    .multi(),
    c(
        "x509Certificates",
        mv_sub!(
            AttrDef::base("value", AttrType::Binary, "The value of an X.509 certificate.").exact(),
            &[]
        ),
        "A list of certificates issued to the User.",
    )
    .multi(),
    AttrDef {
        open: true,
        ..c(
            "custom_fields",
            &[],
            "Freshservice requester custom fields of this tenant (External Name custom_fields.<name>).",
        )
    },
];

/// Enterprise User extension attributes (RFC 7643 §4.3).
pub static ENTERPRISE_ATTRS: &[AttrDef] = &[
    s(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    s("costCenter", "Identifies the name of a cost center."),
    s("organization", "Identifies the name of an organization."),
    s("division", "Identifies the name of a division."),
    s("department", "Identifies the name of a department."),
    c(
        "manager",
        &[
            s(
                "value",
                "The id of the SCIM resource representing the User's manager.",
            ),
            r(
                "$ref",
                "The URI of the SCIM resource representing the User's manager.",
            )
            .refs(&["User"]),
            s("displayName", "The displayName of the User's manager.").read_only(),
        ],
        "The User's manager.",
    ),
];

/// Core Group attributes (RFC 7643 §4.2).
pub static GROUP_ATTRS: &[AttrDef] = &[
    s("displayName", "A human-readable name for the Group.").required(),
    c(
        "members",
        &[
            s("value", "Identifier of the member of this Group.").immutable(),
            r("$ref", "The URI of the member resource.")
                .immutable()
                .refs(&["User", "Group"]),
            s("display", "A human-readable name of the member.").read_only(),
            s("type", "The type of the member.")
                .immutable()
                .canonical(&["User", "Group"]),
        ],
        "A list of members of the Group.",
    )
    .multi(),
];

/// Schema extensions of the User resource type.
static USER_EXTENSIONS: &[(&str, &[AttrDef])] = &[(ENTERPRISE_USER_SCHEMA, ENTERPRISE_ATTRS)];

/// Case-insensitive lookup of an attribute by name.
pub fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Which resource type a path is resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    fn core_urn(self) -> &'static str {
        match self {
            Resource::User => USER_SCHEMA,
            Resource::Group => GROUP_SCHEMA,
        }
    }
    fn core_attrs(self) -> &'static [AttrDef] {
        match self {
            Resource::User => USER_ATTRS,
            Resource::Group => GROUP_ATTRS,
        }
    }
    fn extensions(self) -> &'static [(&'static str, &'static [AttrDef])] {
        match self {
            Resource::User => USER_EXTENSIONS,
            Resource::Group => &[],
        }
    }
}

/// Known extension URN (canonical spelling) for a case-insensitive match.
pub fn extension_urn(resource: Resource, urn: &str) -> Option<&'static str> {
    resource
        .extensions()
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(urn))
        .map(|(u, _)| *u)
}

/// Attributes of a known extension URN.
pub fn extension_attrs(urn: &str) -> Option<&'static [AttrDef]> {
    if urn.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
        Some(ENTERPRISE_ATTRS)
    } else {
        None
    }
}

/// Where a resolved attribute lives and what it is.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `Some(urn)`: the attribute is a member of the object stored under the
    /// extension URN key; `None`: a top-level attribute.
    pub ext: Option<&'static str>,
    /// `None` when the path is the extension URN itself (the whole extension object).
    pub attr: Option<ResolvedAttr>,
}

#[derive(Debug, Clone)]
pub struct ResolvedAttr {
    /// Canonical name for known attributes, the name as written otherwise.
    pub name: String,
    /// `None`: an attribute outside the schema (kept generically).
    pub def: Option<&'static AttrDef>,
    pub sub: Option<ResolvedSub>,
}

#[derive(Debug, Clone)]
pub struct ResolvedSub {
    pub name: String,
    /// `None`: a sub-attribute of an open complex (custom field) or of an unknown attribute.
    pub def: Option<&'static AttrDef>,
}

/// Split `[urn:]attr[.sub]` into its URN prefix (matched against the known
/// schema URNs, case-insensitively) and the rest. `Ok((Some(urn), None))` is
/// the URN alone. An unknown `urn:` prefix is an error (`what` says filter or path).
pub fn split_urn(
    resource: Resource,
    text: &str,
) -> Result<(Option<&'static str>, Option<String>), String> {
    if !text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return Ok((None, Some(text.to_owned())));
    }
    let mut urns: Vec<&'static str> = vec![resource.core_urn()];
    urns.extend(resource.extensions().iter().map(|(u, _)| *u));
    for urn in urns {
        // `get`, not `[..]`: a multi-byte character may straddle the
        // URN's length (found by fuzzing, fuzz/corpus/filter/).
        if text
            .get(..urn.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(urn))
        {
            if text.len() == urn.len() {
                return Ok((Some(urn), None));
            }
            if text.as_bytes()[urn.len()] == b':' {
                return Ok((Some(urn), Some(text[urn.len() + 1..].to_owned())));
            }
        }
    }
    Err(format!("unknown schema URN in \"{text}\""))
}

/// Whether `name` is a valid ATTRNAME (RFC 7643 §2.1: ALPHA *(nameChar)); `$ref` too.
pub fn valid_attr_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(ch) if ch.is_ascii_alphabetic())
        && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}

/// Resolve `[urn:]attr[.sub]` against a resource's schemas. `allow_unknown`
/// accepts top-level attributes outside the schema (PATCH keeps them like
/// POST does); filters pass `false` so a typo is a 400, never an empty match.
/// The error is the bare reason; callers wrap it in the right scimType.
pub fn resolve(resource: Resource, text: &str, allow_unknown: bool) -> Result<Resolved, String> {
    let (urn, rest) = split_urn(resource, text)?;
    let ext = urn.filter(|u| *u != resource.core_urn());
    let Some(rest) = rest else {
        return match ext {
            Some(u) => Ok(Resolved {
                ext: Some(u),
                attr: None,
            }),
            None => Err(format!(
                "\"{text}\" names the core schema, not an attribute"
            )),
        };
    };
    let mut parts = rest.splitn(2, '.');
    let attr_name = parts.next().unwrap_or_default();
    let sub_name = parts.next();
    if !valid_attr_name(attr_name) {
        return Err(format!("\"{attr_name}\" is not a valid attribute name"));
    }
    if let Some(sn) = sub_name {
        if !valid_attr_name(sn) {
            return Err(format!("\"{sn}\" is not a valid sub-attribute name"));
        }
    }
    let (ext, def) = match ext {
        Some(u) => {
            let attrs = extension_attrs(u).unwrap_or(&[]);
            match find(attrs, attr_name) {
                Some(d) => (Some(u), Some(d)),
                None => return Err(format!("unknown attribute \"{attr_name}\" in schema {u}")),
            }
        }
        None => {
            if let Some(d) =
                find(COMMON_ATTRS, attr_name).or_else(|| find(resource.core_attrs(), attr_name))
            {
                (None, Some(d))
            } else if urn.is_none() {
                // Unqualified names fall back to the extensions: their names
                // never collide with core ones, and clients often omit the URN.
                let hit = resource
                    .extensions()
                    .iter()
                    .find_map(|(u, attrs)| find(attrs, attr_name).map(|d| (*u, d)));
                match hit {
                    Some((u, d)) => (Some(u), Some(d)),
                    None if allow_unknown => (None, None),
                    None => return Err(format!("unknown attribute \"{attr_name}\"")),
                }
            } else if allow_unknown {
                (None, None)
            } else {
                return Err(format!("unknown attribute \"{attr_name}\""));
            }
        }
    };
    let name = def.map_or_else(|| attr_name.to_owned(), |d| d.name.to_owned());
    let sub = match (sub_name, def) {
        (None, _) => None,
        (Some(sn), None) => Some(ResolvedSub {
            name: sn.to_owned(),
            def: None,
        }),
        (Some(sn), Some(d)) if d.ty == AttrType::Complex => {
            if d.open {
                Some(ResolvedSub {
                    name: sn.to_owned(),
                    def: None,
                })
            } else {
                match d.sub_attr(sn) {
                    Some(sd) => Some(ResolvedSub {
                        name: sd.name.to_owned(),
                        def: Some(sd),
                    }),
                    None => return Err(format!("\"{}\" has no sub-attribute \"{sn}\"", d.name)),
                }
            }
        }
        (Some(sn), Some(d)) => {
            return Err(format!(
                "\"{}\" is not a complex attribute and has no sub-attribute \"{sn}\"",
                d.name
            ))
        }
    };
    Ok(Resolved {
        ext,
        attr: Some(ResolvedAttr { name, def, sub }),
    })
}
