//! The SCIM Group resource (RFC 7643 §4.2): its stored form, what a POST,
//! PUT or PATCH makes of it, and its rendering. Pure: the groups service
//! (`ingress/src/groups/`) reads and writes Redis around it.
//!
//! Stored form: a document with `displayName` and, when given,
//! `externalId`, plus the members as a map of user id → the `display` the
//! client sent (kept apart in Redis, `shared/src/records/group.rs`).
//!
//! Decisions:
//! - Members are our SCIM user ids (Okta and Entra send those). Whether each
//!   one is a user of the tenant is checked by the store, atomically with
//!   the write (an unknown id is a 400 naming it, and nothing changes).
//!   A member of `type` other than `User` is refused: Freshservice's
//!   requester groups hold requesters only (no nested groups).
//! - PUT replaces `displayName` and `externalId`; `members` absent from a
//!   PUT keeps the current members (RFC 7644 §3.5.1 lets a server treat an
//!   omitted attribute as not asserted), so a rename PUT can never empty
//!   a group; `"members": []` empties it.
//! - PATCH takes Okta's and Entra's shapes (`docs/identity-providers.md`):
//!   a path-less `replace` whose value holds `id` and `displayName` (the `id`
//!   is ignored when it is the group's own); `add` on `members` with a list
//!   of `{value, display}`; `remove` on `members[value eq "…"]`; `remove` on
//!   `members` with a value list removes those members only (Entra), and
//!   without a value all of them; `replace` on `members` is the whole list,
//!   `[]` included. Op names compare without case. A PATCH that changes
//!   nothing is answered without a write.
//! - Bounded: at most [`MAX_MEMBERS_PER_REQUEST`] member values in one
//!   request, at most [`MAX_MEMBERS`] members in a group, a displayName of at
//!   most [`MAX_NAME_CHARS`] characters.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::filter::get_ci;
use super::patch::{self, OpKind};
use super::schema::Resource;
use super::user::{etag, Meta};
use super::{ScimError, GROUP_SCHEMA};

/// Most member values one request may carry, summed over its operations.
/// Okta and Entra send membership in batches far below this; a group of
/// this size is pushed in one request (BENCHMARKS.md "Group push").
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;

/// Most members one group may have. Each member costs one Freshservice
/// call to add, so a bigger group would take hours of a small account's
/// budget; the bound also keeps every read of a group's members small.
pub const MAX_MEMBERS: usize = 20_000;

/// Longest displayName (and externalId) accepted, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A group's members: user id → the `display` the client sent (`""` if none).
pub type Members = BTreeMap<String, String>;

/// The stored attributes of a group besides its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDoc {
    pub display_name: String,
    pub external_id: Option<String>,
}

impl GroupDoc {
    /// The JSON stored as `GroupRecord::doc`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("displayName".into(), json!(self.display_name));
        if let Some(e) = &self.external_id {
            m.insert("externalId".into(), json!(e));
        }
        Value::Object(m)
    }

    /// Reads a stored document back.
    pub fn from_json(doc: &Value) -> GroupDoc {
        GroupDoc {
            display_name: doc
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            external_id: doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The displayName's index key (`shared::identity::fold`: displayName is
    /// not case-exact, RFC 7643 §4.2).
    pub fn name_key(&self) -> String {
        shared::identity::fold(&self.display_name)
    }
}

/// A group as a write sees it: attributes and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub doc: GroupDoc,
    pub members: Members,
}

/// A POST or PUT body: the attributes, and the members if it named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRequest {
    pub doc: GroupDoc,
    pub members: Option<Members>,
}

/// What a write changes in the members, as the store applies it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDelta {
    /// New members, and members whose `display` changed: id → display.
    pub put: Members,
    /// Members that leave.
    pub remove: Vec<String>,
}

impl MemberDelta {
    /// The changes that turn `from` into `to`.
    pub fn between(from: &Members, to: &Members) -> MemberDelta {
        MemberDelta {
            put: to
                .iter()
                .filter(|(id, d)| from.get(*id) != Some(*d))
                .map(|(id, d)| (id.clone(), d.clone()))
                .collect(),
            remove: from
                .keys()
                .filter(|id| !to.contains_key(*id))
                .cloned()
                .collect(),
        }
    }

    /// The ids that become members (not already in `from`): the ones the
    /// store checks are users of the tenant.
    pub fn joining<'a>(&'a self, from: &'a Members) -> impl Iterator<Item = &'a String> + 'a {
        self.put.keys().filter(move |id| !from.contains_key(*id))
    }
}

/// Parses a POST or PUT body.
pub fn from_request(body: &Value) -> Result<GroupRequest, ScimError> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    check_schemas(get_ci(obj, "schemas"))?;
    let display_name = match get_ci(obj, "displayName") {
        Some(v) => display_name(v)?,
        None => {
            return Err(ScimError::invalid_value(
                "\"displayName\" is required for a Group",
            ))
        }
    };
    let external_id = match get_ci(obj, "externalId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(external_id(v)?),
    };
    let mut budget = MAX_MEMBERS_PER_REQUEST;
    let members = match get_ci(obj, "members") {
        None => None,
        Some(Value::Null) => Some(Members::new()),
        Some(v) => Some(member_list(v, &mut budget)?.into_iter().collect()),
    };
    Ok(GroupRequest {
        doc: GroupDoc {
            display_name,
            external_id,
        },
        members,
    })
}

/// The state a PUT leaves: the body's attributes, and its members or, when
/// it named none, the current ones (see the module docs).
pub fn replace(current: &GroupState, req: GroupRequest) -> Result<GroupState, ScimError> {
    let next = GroupState {
        doc: req.doc,
        members: req.members.unwrap_or_else(|| current.members.clone()),
    };
    check_size(&next.members)?;
    Ok(next)
}

/// Applies a PatchOp body to `current`; `id` is the group's own id (a
/// value carrying it is Okta's rename, not a change of id).
pub fn apply_patch(current: &GroupState, body: &Value, id: &str) -> Result<GroupState, ScimError> {
    let ops = patch::parse_ops_for(Resource::Group, body)?;
    let mut next = current.clone();
    let mut budget = MAX_MEMBERS_PER_REQUEST;
    for (i, op) in ops.iter().enumerate() {
        apply_op(&mut next, op, id, &mut budget).map_err(|e| {
            let d = format!("Operations[{i}]: {}", e.detail);
            e.with_detail(d)
        })?;
    }
    check_size(&next.members)?;
    Ok(next)
}

fn apply_op(
    g: &mut GroupState,
    op: &patch::Operation,
    id: &str,
    budget: &mut usize,
) -> Result<(), ScimError> {
    let value = op.value.as_ref();
    let Some(path) = op.path.as_ref().filter(|p| !p.is_root()) else {
        // Path-less add/replace (`parse_ops` refused a path-less remove).
        let Some(Value::Object(obj)) = value else {
            return Err(ScimError::invalid_value(
                "an operation without a path needs an object value",
            ));
        };
        for (k, v) in obj {
            apply_attr(g, op.op, k, Some(v), id, budget)?;
        }
        return Ok(());
    };
    let Some(attr) = path.attr.as_deref() else {
        return Err(ScimError::invalid_path(format!(
            "\"{}\" names no attribute of a Group",
            path.raw
        )));
    };
    if path.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "\"{}\": sub-attributes of a Group cannot be changed one by one",
            path.raw
        )));
    }
    if let Some(filter) = &path.filter {
        if !attr.eq_ignore_ascii_case("members") || op.op != OpKind::Remove {
            return Err(ScimError::invalid_path(format!(
                "\"{}\": only remove takes a member filter",
                path.raw
            )));
        }
        g.members
            .retain(|m, display| !filter.matches(&member_json(m, display, None)));
        return Ok(());
    }
    apply_attr(g, op.op, attr, value, id, budget)
}

/// One attribute of an operation: `value` is `None` for a remove.
fn apply_attr(
    g: &mut GroupState,
    op: OpKind,
    attr: &str,
    value: Option<&Value>,
    id: &str,
    budget: &mut usize,
) -> Result<(), ScimError> {
    let is = |name: &str| attr.eq_ignore_ascii_case(name);
    match (op, value) {
        _ if is("schemas") || is("meta") => Ok(()),
        (_, Some(Value::String(s))) if is("id") && s == id => Ok(()),
        _ if is("id") => Err(ScimError::mutability(
            "\"id\" is assigned by the server and cannot change",
        )),
        (OpKind::Remove, _) if is("displayName") => Err(ScimError::invalid_value(
            "\"displayName\" is required for a Group and cannot be removed",
        )),
        (_, Some(v)) if is("displayName") => {
            g.doc.display_name = display_name(v)?;
            Ok(())
        }
        (OpKind::Remove, _) | (_, Some(Value::Null)) if is("externalId") => {
            g.doc.external_id = None;
            Ok(())
        }
        (_, Some(v)) if is("externalId") => {
            g.doc.external_id = Some(external_id(v)?);
            Ok(())
        }
        (OpKind::Remove, None) if is("members") => {
            g.members.clear();
            Ok(())
        }
        (OpKind::Remove, Some(v)) if is("members") => {
            // Entra's default: the members listed, and only those.
            for (m, _) in member_list(v, budget)? {
                g.members.remove(&m);
            }
            Ok(())
        }
        (OpKind::Replace, Some(Value::Null)) if is("members") => {
            g.members.clear();
            Ok(())
        }
        (OpKind::Replace, Some(v)) if is("members") => {
            g.members = member_list(v, budget)?.into_iter().collect();
            Ok(())
        }
        (OpKind::Add, Some(v)) if is("members") => {
            g.members.extend(member_list(v, budget)?);
            Ok(())
        }
        _ => Err(ScimError::invalid_path(format!(
            "a Group has no attribute \"{attr}\" that can be changed"
        ))),
    }
}

fn check_schemas(schemas: Option<&Value>) -> Result<(), ScimError> {
    let Some(schemas) = schemas else {
        return Ok(());
    };
    let Some(list) = schemas.as_array() else {
        return Err(ScimError::invalid_syntax("\"schemas\" must be a list"));
    };
    if !list.iter().any(|s| {
        s.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
    }) {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" of a Group must contain \"{GROUP_SCHEMA}\""
        )));
    }
    // Entra adds its own Group extension URN; other URNs name nothing
    // this bridge keeps, so they are accepted and ignored.
    Ok(())
}

fn display_name(v: &Value) -> Result<String, ScimError> {
    let Some(s) = v.as_str() else {
        return Err(ScimError::invalid_value("\"displayName\" must be a string"));
    };
    let s = s.trim();
    if s.is_empty() {
        return Err(ScimError::invalid_value(
            "\"displayName\" must not be blank",
        ));
    }
    bounded("displayName", s)?;
    shared::identity::check(s)
        .map_err(|why| ScimError::invalid_value(format!("\"displayName\" {why}")))?;
    Ok(shared::identity::nfc(s).into_owned())
}

fn external_id(v: &Value) -> Result<String, ScimError> {
    let Some(s) = v.as_str() else {
        return Err(ScimError::invalid_value("\"externalId\" must be a string"));
    };
    bounded("externalId", s)?;
    if s.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(
            "\"externalId\" contains a control character",
        ));
    }
    Ok(s.to_owned())
}

fn bounded(attr: &str, s: &str) -> Result<(), ScimError> {
    let n = s.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(ScimError::invalid_value(format!(
            "\"{attr}\" has {n} characters; at most {MAX_NAME_CHARS} are accepted"
        )));
    }
    Ok(())
}

/// A list of members (`[{value, display?, type?, $ref?}]`, or one such
/// object), counted against the request's `budget`.
fn member_list(v: &Value, budget: &mut usize) -> Result<Vec<(String, String)>, ScimError> {
    let items: &[Value] = match v {
        Value::Array(a) => a,
        Value::Object(_) => std::slice::from_ref(v),
        _ => {
            return Err(ScimError::invalid_value(
                "\"members\" must be a list of {\"value\": <user id>} objects",
            ))
        }
    };
    if items.len() > *budget {
        return Err(ScimError::invalid_value(format!(
            "a request may carry at most {MAX_MEMBERS_PER_REQUEST} members; send the rest in further PATCH add operations"
        )));
    }
    *budget -= items.len();
    items.iter().map(member).collect()
}

fn member(v: &Value) -> Result<(String, String), ScimError> {
    let Value::Object(m) = v else {
        return Err(ScimError::invalid_value(
            "each member must be an object with a \"value\"",
        ));
    };
    let Some(id) = get_ci(m, "value").and_then(Value::as_str) else {
        return Err(ScimError::invalid_value(
            "each member needs a \"value\": the member's user id",
        ));
    };
    if id.is_empty() || id.len() > MAX_NAME_CHARS || id.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!(
            "member {:?} is not a user id of this bridge",
            id.chars().take(64).collect::<String>()
        )));
    }
    if let Some(t) = get_ci(m, "type").and_then(Value::as_str) {
        if !t.eq_ignore_ascii_case("User") {
            return Err(ScimError::invalid_value(format!(
                "member {id:?} has type {t:?}: Freshservice requester groups hold users only, not groups"
            )));
        }
    }
    let display = match get_ci(m, "display") {
        Some(Value::String(d)) => d.chars().take(MAX_NAME_CHARS).collect(),
        _ => String::new(),
    };
    Ok((id.to_owned(), display))
}

fn check_size(members: &Members) -> Result<(), ScimError> {
    if members.len() > MAX_MEMBERS {
        return Err(ScimError::invalid_value(format!(
            "a group may have at most {MAX_MEMBERS} members; this change would make {}",
            members.len()
        )));
    }
    Ok(())
}

/// One member as rendered (and as a member filter sees it).
fn member_json(id: &str, display: &str, base: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("value".into(), json!(id));
    if !display.is_empty() {
        m.insert("display".into(), json!(display));
    }
    m.insert("type".into(), json!("User"));
    if let Some(b) = base {
        m.insert(
            "$ref".into(),
            json!(format!("{}/Users/{id}", b.trim_end_matches('/'))),
        );
    }
    Value::Object(m)
}

/// The Group resource as answered to clients. `members: None` leaves them
/// out (the client excluded them, and the store did not read them).
pub fn render(
    id: &str,
    doc: &GroupDoc,
    members: Option<&Members>,
    meta: &Meta,
    base: &str,
) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), json!(id));
    out.insert("displayName".into(), json!(doc.display_name));
    if let Some(e) = &doc.external_id {
        out.insert("externalId".into(), json!(e));
    }
    if let Some(members) = members {
        out.insert(
            "members".into(),
            Value::Array(
                members
                    .iter()
                    .map(|(m, d)| member_json(m, d, Some(base)))
                    .collect(),
            ),
        );
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": format!("{}/Groups/{id}", base.trim_end_matches('/')),
            "version": etag(meta.version),
        }),
    );
    Value::Object(out)
}

/// A user's `groups` value (RFC 7643 §4.1.2): the groups it is a direct
/// member of, as `(id, displayName)`.
pub fn user_groups(groups: &[(String, String)], base: &str) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|(id, name)| {
                json!({
                    "value": id,
                    "display": name,
                    "type": "direct",
                    "$ref": format!("{}/Groups/{id}", base.trim_end_matches('/')),
                })
            })
            .collect(),
    )
}
