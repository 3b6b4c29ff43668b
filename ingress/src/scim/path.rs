//! PATCH attribute paths (RFC 7644 §3.5.2, §3.10):
//! `PATH = attrPath / valuePath [subAttr]`, e.g. `title`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`,
//! `emails[type eq "work"].value`, `members[value eq "x"]`,
//! `custom_fields.cost_center`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`,
//! or an extension URN alone (the whole extension object).
//!
//! Unlike filters, a path may name a top-level attribute outside the schema:
//! POST keeps such attributes, so PATCH may change them too. A typo inside a
//! known complex attribute (`name.givenNme`) or an unknown URN is `invalidPath`.

use super::filter::{self, Filter};
use super::schema::{self, AttrDef, AttrType, Resource};
use super::ScimError;

/// A resolved PATCH path.
#[derive(Debug, Clone)]
pub struct PatchPath {
    /// As written.
    pub raw: String,
    /// Extension URN whose object holds the attribute; `None` for core attributes.
    pub ext: Option<&'static str>,
    /// `None` with `ext` set: the whole extension object. `None` without `ext`:
    /// the resource itself (the core schema URN alone), same as no path.
    pub attr: Option<String>,
    /// `None`: an attribute outside the schema.
    pub attr_def: Option<&'static AttrDef>,
    /// Value selection filter, relative to the elements of `attr`.
    pub filter: Option<Filter>,
    pub sub: Option<String>,
    /// `None` with `sub` set: a custom field or a member of an unknown attribute.
    pub sub_def: Option<&'static AttrDef>,
}

impl PatchPath {
    /// The path names the resource itself.
    pub fn is_root(&self) -> bool {
        self.ext.is_none() && self.attr.is_none()
    }
}

/// Parse a User PATCH path.
pub fn parse(input: &str) -> Result<PatchPath, ScimError> {
    parse_for(Resource::User, input)
}

fn bad(input: &str, why: impl std::fmt::Display) -> ScimError {
    ScimError::invalid_path(format!("invalid path \"{input}\": {why}"))
}

/// Parse a PATCH path against a resource type's schema.
pub fn parse_for(resource: Resource, input: &str) -> Result<PatchPath, ScimError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(bad(input, "empty"));
    }
    let Some(lb) = text.find('[') else {
        return plain(resource, input, text);
    };
    // Find the `]` that closes the filter, skipping quoted strings (which may contain `]`).
    let bytes = text.as_bytes();
    let (mut i, mut in_str, mut esc) = (lb + 1, false, false);
    let mut rb = None;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == b']' {
            rb = Some(i);
            break;
        }
        i += 1;
    }
    let Some(rb) = rb else {
        return Err(bad(input, "missing \"]\""));
    };
    let head = text[..lb].trim();
    let inner = &text[lb + 1..rb];
    let tail = text[rb + 1..].trim();
    let r = schema::resolve(resource, head, true).map_err(|m| bad(input, m))?;
    let Some(attr) = r.attr else {
        return Err(bad(input, "a schema URN cannot take a value filter"));
    };
    if attr.sub.is_some() {
        return Err(bad(
            input,
            "a value filter must follow a multi-valued attribute",
        ));
    }
    if let Some(d) = attr.def {
        if !(d.multi && d.ty == AttrType::Complex) {
            return Err(bad(
                input,
                format!("\"{}\" is not a multi-valued complex attribute", d.name),
            ));
        }
    }
    let filter = filter::parse_value_filter(inner, attr.def)
        .map_err(|e| bad(input, e.detail.trim_start_matches("invalid filter ")))?;
    let (sub, sub_def) = if tail.is_empty() {
        (None, None)
    } else {
        let Some(sub) = tail.strip_prefix('.') else {
            return Err(bad(input, format!("unexpected \"{tail}\" after \"]\"")));
        };
        if !schema::valid_attr_name(sub) {
            return Err(bad(
                input,
                format!("\"{sub}\" is not a valid sub-attribute name"),
            ));
        }
        match attr.def {
            Some(d) => match d.sub_attr(sub) {
                Some(sd) => (Some(sd.name.to_owned()), Some(sd)),
                None => {
                    return Err(bad(
                        input,
                        format!("\"{}\" has no sub-attribute \"{sub}\"", d.name),
                    ))
                }
            },
            None => (Some(sub.to_owned()), None),
        }
    };
    Ok(PatchPath {
        raw: input.to_owned(),
        ext: r.ext,
        attr: Some(attr.name),
        attr_def: attr.def,
        filter: Some(filter),
        sub,
        sub_def,
    })
}

fn plain(resource: Resource, input: &str, text: &str) -> Result<PatchPath, ScimError> {
    if let Ok((Some(urn), None)) = schema::split_urn(resource, text) {
        if schema::extension_urn(resource, urn).is_none() {
            // The core URN alone: the resource itself.
            return Ok(PatchPath {
                raw: input.to_owned(),
                ext: None,
                attr: None,
                attr_def: None,
                filter: None,
                sub: None,
                sub_def: None,
            });
        }
    }
    if text.contains(']') {
        return Err(bad(input, "unexpected \"]\""));
    }
    let r = schema::resolve(resource, text, true).map_err(|m| bad(input, m))?;
    let (attr, attr_def, sub, sub_def) = match r.attr {
        None => (None, None, None, None),
        Some(a) => {
            let (s, sd) = match a.sub {
                Some(s) => (Some(s.name), s.def),
                None => (None, None),
            };
            (Some(a.name), a.def, s, sd)
        }
    };
    Ok(PatchPath {
        raw: input.to_owned(),
        ext: r.ext,
        attr,
        attr_def,
        filter: None,
        sub,
        sub_def,
    })
}
