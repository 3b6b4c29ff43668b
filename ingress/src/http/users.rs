//! `/scim/v2/Users`: thin handlers. Each one authenticates (extractor),
//! validates with the pure SCIM core (`crate::scim`), stores atomically
//! (`crate::store`), publishes with a confirm (`crate::outbox`), and only
//! then answers (invariant 1). Reads answer from Redis alone (invariant 2).
//! All of it within the request's `Deadline` (`deadline.rs`).

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde_json::Value;

use super::{auth::ScimTenant, body::ScimJson, deadline::Deadline, request_id, scim_response};
use crate::state::{AppState, Backend};
use crate::{
    scim::{
        self,
        error::ScimError,
        filter::IndexedAttr,
        list::{self, ListParams},
        user::Meta,
    },
    store::{users::IndexFields, StoreError, StoredUser, WriteOutcome},
};

/// Most resources one list page returns (reported in /ServiceProviderConfig).
pub const MAX_PAGE: usize = 200;

/// Optimistic-concurrency tries for PUT/PATCH before answering 503. Each
/// round lets at least one concurrent writer through, so this bounds how
/// many writers to one user can race at once.
const PATCH_TRIES: u32 = 32;

/// A short random pause between optimistic retries, so racing writers
/// spread out instead of colliding again.
async fn backoff(round: u32) {
    if round == 0 {
        return;
    }
    let max = 1 + round.min(10) as u64 * 2;
    tokio::time::sleep(std::time::Duration::from_millis(
        rand::random::<u64>() % max,
    ))
    .await;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list_users).post(create))
        .route(
            "/Users/{id}",
            get(get_user).put(replace).patch(patch).delete(delete),
        )
        .route("/Users/.search", axum::routing::post(search))
        .route("/.search", axum::routing::post(search))
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> ScimError {
    tracing::warn!(error = %e, "dependency unavailable; answering 503");
    ScimError::unavailable(super::deadline::RETRY_AFTER_SECS)
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        unavailable(e)
    }
}

fn not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("User {id} not found"))
}

fn taken(doc: &Value) -> ScimError {
    ScimError::conflict_uniqueness(format!(
        "a user with userName {:?} already exists (userName is unique, case-insensitive)",
        doc.get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    ))
}

fn render(state: &Backend, u: &StoredUser) -> Value {
    let meta = Meta {
        created: u.created.clone(),
        last_modified: u.modified.clone(),
        version: u.version,
    };
    scim::user::render(&u.id, &u.doc, &meta, &state.scim_base())
}

fn resource_response(state: &Backend, status: StatusCode, u: &StoredUser) -> Response {
    let mut resp = scim_response(status, render(state, u));
    if let Ok(tag) = scim::user::etag(u.version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    resp
}

/// The If-Match header, if any, as text.
fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn check_if_match(header: &Option<String>, version: u64) -> Result<(), ScimError> {
    match header {
        Some(h) if !scim::user::if_match_ok(h, version) => {
            Err(ScimError::precondition_failed(format!(
                "If-Match {h} does not match the current version {}",
                scim::user::etag(version)
            )))
        }
        _ => Ok(()),
    }
}

struct Index {
    user_name: String,
    external_id: Option<String>,
    emails: Vec<String>,
}

impl Index {
    fn of(doc: &Value) -> Self {
        Self {
            user_name: scim::user::user_name_key(doc),
            external_id: scim::user::external_id(doc),
            emails: scim::user::email_keys(doc),
        }
    }
    fn fields(&self) -> IndexFields<'_> {
        IndexFields {
            user_name_lower: &self.user_name,
            external_id: self.external_id.as_deref(),
            email_keys: &self.emails,
        }
    }
}

async fn list_users(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = list::parse_list_params(query.as_deref().unwrap_or(""), MAX_PAGE)?;
    list_page(&state, &tenant.id, &params).await
}

/// One ListResponse page for the params (GET /Users and POST .search).
async fn list_page(
    state: &Backend,
    tenant: &str,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let (total, page) = find(state, tenant, params).await?;
    let resources = page
        .into_iter()
        .map(|r| list::project(r, &params.attributes, &params.excluded_attributes))
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        list::list_response(total, params.start_index, resources),
    ))
}

/// `POST /Users/.search` (and `/.search`: Users are the only resource
/// type), RFC 7644 §3.4.3: the query parameters as a JSON body.
async fn search(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    // Re-encode as a query string so both forms share one validator.
    // (A block: the serializer is not Send and must not live across awaits.)
    let query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in body.as_object().into_iter().flatten() {
            let text = match (key.as_str(), value) {
                ("schemas", _) => continue,
                (_, Value::String(s)) => s.clone(),
                (_, Value::Number(n)) => n.to_string(),
                (_, Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                (_, Value::Null) => continue,
                (k, other) => {
                    return Err(ScimError::invalid_value(format!(
                        "search parameter {k:?} must be a string, number or list, not {other}"
                    )))
                }
            };
            q.append_pair(key, &text);
        }
        q.finish()
    };
    let params = list::parse_list_params(&query, MAX_PAGE)?;
    list_page(&state, &tenant.id, &params).await
}

/// Users matching the params, rendered (filters match the rendered
/// resource, so each user is rendered once): the total and the page.
async fn find(
    state: &Backend,
    tenant: &str,
    params: &ListParams,
) -> Result<(usize, Vec<Value>), ScimError> {
    let offset = params.start_index.saturating_sub(1);
    let Some(filter) = &params.filter else {
        let total = state.users.count(tenant).await?;
        let ids = state.users.page_ids(tenant, offset, params.count).await?;
        let users = state.users.get_many(tenant, &ids).await?;
        return Ok((total, users.iter().map(|u| render(state, u)).collect()));
    };
    // `eq` on an indexed attribute: answered from the index, never a scan.
    let matching: Vec<Value> = if let Some((attr, value)) = filter.indexed_eq() {
        let ids = match attr {
            IndexedAttr::UserName => state
                .users
                .id_by_user_name(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            IndexedAttr::ExternalId => state
                .users
                .id_by_external_id(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            IndexedAttr::Email => state.users.ids_by_email(tenant, &value).await?,
            IndexedAttr::Id => vec![value],
        };
        let users = state.users.get_many(tenant, &ids).await?;
        users
            .iter()
            .map(|u| render(state, u))
            .filter(|r| filter.matches(r))
            .collect()
    } else {
        // Other filters scan in creation order, a batch at a time.
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let ids = state.users.page_ids(tenant, at, 500).await?;
            if ids.is_empty() {
                break;
            }
            at += ids.len();
            let users = state.users.get_many(tenant, &ids).await?;
            out.extend(
                users
                    .iter()
                    .map(|u| render(state, u))
                    .filter(|r| filter.matches(r)),
            );
        }
        out
    };
    let total = matching.len();
    let page = matching
        .into_iter()
        .skip(offset)
        .take(params.count)
        .collect();
    Ok((total, page))
}

async fn get_user(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = list::parse_list_params(query.as_deref().unwrap_or(""), MAX_PAGE)?;
    let u = state
        .users
        .get(&tenant.id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let body = list::project(
        render(&state, &u),
        &params.attributes,
        &params.excluded_attributes,
    );
    let mut resp = scim_response(StatusCode::OK, body);
    if let Ok(tag) = scim::user::etag(u.version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(resp)
}

async fn create(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let doc = scim::user::from_request(body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let ix = Index::of(&doc);
    let (version, at) = match state
        .users
        .create(&tenant.id, &id, &doc, &ix.fields())
        .await?
    {
        WriteOutcome::Written { version, at } => (version, at),
        WriteOutcome::UserNameTaken(_) => return Err(taken(&doc)),
        other => return Err(unavailable(format!("unexpected create outcome {other:?}"))),
    };
    // Undo so the 503 leaves nothing behind and Okta's retry can create
    // the user afresh; if even that fails, the sweeper publishes it.
    let undo = {
        let (users, tenant, id) = (state.users.clone(), tenant.id.clone(), id.clone());
        async move {
            if let Err(re) = users.rollback_create(&tenant, &id).await {
                tracing::error!(error = %re, user = %id, "rollback after failed publish failed; the sweeper will publish");
            }
        }
    };
    state
        .outbox
        .publish_or_undo(
            &tenant.id,
            &id,
            version,
            &request_id(&headers),
            deadline.0,
            Some(undo),
        )
        .await
        .map_err(unavailable)?;
    // Answer with what was written; no need to read it back.
    let stored = StoredUser {
        id,
        doc,
        version,
        created: at.clone(),
        modified: at,
    };
    let mut resp = resource_response(&state, StatusCode::CREATED, &stored);
    if let Ok(loc) = format!("{}/Users/{}", state.scim_base(), stored.id).parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, loc);
    }
    Ok(resp)
}

/// Stores `doc` over `current` (optimistically, at `current.version`),
/// publishes, and restores `current` if the publish fails so a 503 changes
/// nothing. `Ok(None)` means someone else wrote first.
async fn write_over(
    state: &Backend,
    tenant: &str,
    current: &StoredUser,
    doc: &Value,
    rid: &str,
    deadline: Deadline,
) -> Result<Option<StoredUser>, ScimError> {
    let ix = Index::of(doc);
    let (version, at) = match state
        .users
        .replace(
            tenant,
            &current.id,
            doc,
            &ix.fields(),
            Some(current.version),
        )
        .await?
    {
        WriteOutcome::Written { version, at } => (version, at),
        WriteOutcome::UserNameTaken(_) => return Err(taken(doc)),
        WriteOutcome::Missing => return Err(not_found(&current.id)),
        WriteOutcome::VersionMismatch(_) => return Ok(None),
    };
    let undo = {
        let (users, tenant, current) = (state.users.clone(), tenant.to_string(), current.clone());
        async move {
            let old = Index::of(&current.doc);
            match users
                .replace(
                    &tenant,
                    &current.id,
                    &current.doc,
                    &old.fields(),
                    Some(version),
                )
                .await
            {
                Ok(WriteOutcome::Written { .. }) => {}
                other => {
                    tracing::error!(user = %current.id, outcome = ?other, "could not restore the user after a failed publish; the sweeper will publish")
                }
            }
        }
    };
    state
        .outbox
        .publish_or_undo(tenant, &current.id, version, rid, deadline.0, Some(undo))
        .await
        .map_err(unavailable)?;
    Ok(Some(StoredUser {
        id: current.id.clone(),
        doc: doc.clone(),
        version,
        created: current.created.clone(),
        modified: at,
    }))
}

async fn replace(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let doc = scim::user::from_request(body)?;
    update(&state, &tenant.id, &id, &headers, deadline, |_| {
        Ok(Some(doc.clone()))
    })
    .await
}

async fn patch(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    update(&state, &tenant.id, &id, &headers, deadline, |current| {
        let mut doc = current.doc.clone();
        scim::patch::apply_with_id(&mut doc, &body, &id)?;
        scim::user::validate(&doc)?;
        // Nothing changed (e.g. Okta re-sending the same value): no
        // version bump, no event, same answer.
        Ok((doc != current.doc).then_some(doc))
    })
    .await
}

/// An optimistic update: read the user, check If-Match, let `change`
/// compute the new document from the current one (`None`: no change),
/// write it at the version read, and start over if another write won.
async fn update(
    state: &Backend,
    tenant: &str,
    id: &str,
    headers: &HeaderMap,
    deadline: Deadline,
    change: impl Fn(&StoredUser) -> Result<Option<Value>, ScimError>,
) -> Result<Response, ScimError> {
    let cond = if_match(headers);
    let rid = request_id(headers);
    for round in 0..PATCH_TRIES {
        backoff(round).await;
        let current = state
            .users
            .get(tenant, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(&cond, current.version)?;
        let Some(doc) = change(&current)? else {
            return Ok(resource_response(state, StatusCode::OK, &current));
        };
        if let Some(stored) = write_over(state, tenant, &current, &doc, &rid, deadline).await? {
            return Ok(resource_response(state, StatusCode::OK, &stored));
        }
    }
    Err(unavailable("too many concurrent writes to one user"))
}

async fn delete(
    State(state): State<Backend>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let cond = if_match(&headers);
    let current = state
        .users
        .get(&tenant.id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    check_if_match(&cond, current.version)?;
    let version = match state
        .users
        .delete(&tenant.id, &id, Some(current.version))
        .await?
    {
        WriteOutcome::Written { version, .. } => version,
        WriteOutcome::VersionMismatch(v) => {
            return Err(ScimError::precondition_failed(format!(
                "the user changed while deleting (now {})",
                scim::user::etag(v)
            )))
        }
        _ => return Err(not_found(&id)),
    };
    // The delete stays even if the publish fails: it sits in the outbox and
    // the sweeper publishes it (Okta never sends DELETE; other clients retry
    // and get 404, which is the state they asked for).
    state
        .outbox
        .publish_or_undo(
            &tenant.id,
            &id,
            version,
            &request_id(&headers),
            deadline.0,
            None::<std::future::Ready<()>>,
        )
        .await
        .map_err(unavailable)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
