//! `/scim/v2/Users`: thin handlers. Each one authenticates (extractor),
//! parses the request with the pure SCIM core (`crate::scim`), calls the
//! users service (`crate::users`: store, publish, undo; reads from Redis
//! alone) and translates its answer into HTTP. All of it within the
//! request's `Deadline` (`deadline.rs`).

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::{auth::ScimTenant, body::ScimJson, deadline::Deadline, request_id, scim_response};
use crate::{
    groups::Groups,
    scim::{
        self,
        error::ScimError,
        list::{self, ListParams},
    },
    state::AppState,
    store::{StoreError, StoredUser},
    users::{UserError, Users, WriteCtx},
};

/// Most resources one list page returns (reported in /ServiceProviderConfig).
pub const MAX_PAGE: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list_users).post(create))
        .route(
            "/Users/{id}",
            get(get_user).put(replace).patch(patch).delete(delete),
        )
        .route("/Users/.search", axum::routing::post(search))
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> ScimError {
    tracing::warn!(error = %e, "dependency unavailable; answering 503");
    ScimError::unavailable(super::deadline::RETRY_AFTER_SECS)
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Redis(_) => unavailable(e).from_state_store(),
            _ => unavailable(e),
        }
    }
}

/// The one translation of the users service's results into SCIM errors.
impl From<UserError> for ScimError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::NotFound(_) => ScimError::not_found(e.to_string()),
            UserError::UserNameTaken(_) => ScimError::conflict_uniqueness(e.to_string()),
            UserError::VersionMismatch { .. } | UserError::ChangedWhileDeleting(_) => {
                ScimError::precondition_failed(e.to_string())
            }
            UserError::Invalid(scim) => scim,
            UserError::Store(e) => e.into(),
            UserError::Contended | UserError::Publish(_) | UserError::Unexpected(_) => {
                unavailable(e)
            }
        }
    }
}

/// The user as answered, with its `groups` (read from the groups' reverse
/// index, `crate::groups`).
async fn rendered(
    users: &Users,
    groups: &Groups,
    tenant: &str,
    u: &StoredUser,
) -> Result<serde_json::Value, ScimError> {
    let mut one = [users.render(u)];
    groups.attach_to_users(tenant, &mut one).await?;
    let [body] = one;
    Ok(body)
}

async fn resource_response(
    users: &Users,
    groups: &Groups,
    tenant: &str,
    status: StatusCode,
    u: &StoredUser,
) -> Result<Response, ScimError> {
    let mut resp = scim_response(status, rendered(users, groups, tenant, u).await?);
    if let Ok(tag) = scim::user::etag(u.version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(resp)
}

/// The If-Match header, if any, as text.
fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
}

/// What a write needs from the request besides its body.
pub(super) fn write_ctx<'a>(
    headers: &'a HeaderMap,
    rid: &'a str,
    deadline: Deadline,
) -> WriteCtx<'a> {
    WriteCtx {
        request_id: rid,
        deadline: deadline.0,
        if_match: if_match(headers),
    }
}

async fn list_users(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = list::parse_list_params(query.as_deref().unwrap_or(""), MAX_PAGE)?;
    list_page(&users, &groups, &tenant.id, &params).await
}

/// One ListResponse page for the params (GET /Users and POST .search).
pub(super) async fn list_page(
    users: &Users,
    groups: &Groups,
    tenant: &str,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let mut found = users.find(tenant, params).await?;
    groups.attach_to_users(tenant, &mut found.resources).await?;
    let resources = found
        .resources
        .into_iter()
        .map(|r| list::project(r, &params.attributes, &params.excluded_attributes))
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        list::list_response(found.total, params.start_index, resources),
    ))
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters as a
/// JSON body (`search.rs`).
async fn search(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let params = list::parse_list_params(&super::search::query_of(&body)?, MAX_PAGE)?;
    list_page(&users, &groups, &tenant.id, &params).await
}

async fn get_user(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = list::parse_list_params(query.as_deref().unwrap_or(""), MAX_PAGE)?;
    let u = users.get(&tenant.id, &id).await?;
    let body = list::project(
        rendered(&users, &groups, &tenant.id, &u).await?,
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
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let doc = scim::user::from_request(body)?;
    let rid = request_id(&headers);
    let stored = users
        .create(&tenant.id, doc, write_ctx(&headers, &rid, deadline))
        .await?;
    let mut resp =
        resource_response(&users, &groups, &tenant.id, StatusCode::CREATED, &stored).await?;
    if let Ok(loc) = format!("{}/Users/{}", users.scim_base(), stored.id).parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, loc);
    }
    Ok(resp)
}

async fn replace(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let doc = scim::user::from_request(body)?;
    let rid = request_id(&headers);
    let stored = users
        .replace(&tenant.id, &id, doc, write_ctx(&headers, &rid, deadline))
        .await?;
    resource_response(&users, &groups, &tenant.id, StatusCode::OK, &stored).await
}

async fn patch(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let rid = request_id(&headers);
    let stored = users
        .patch(&tenant.id, &id, &body, write_ctx(&headers, &rid, deadline))
        .await?;
    resource_response(&users, &groups, &tenant.id, StatusCode::OK, &stored).await
}

async fn delete(
    State(users): State<Users>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let rid = request_id(&headers);
    users
        .delete(&tenant.id, &id, write_ctx(&headers, &rid, deadline))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
