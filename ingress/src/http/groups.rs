//! `/scim/v2/Groups`: thin handlers, like `users.rs`. Each authenticates
//! (extractor), parses with the pure SCIM core (`crate::scim::group`),
//! calls the groups service (`crate::groups`) and translates its answer.
//! Okta's and Entra's group push is told in `docs/identity-providers.md`.

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::{
    auth::ScimTenant,
    body::ScimJson,
    deadline::Deadline,
    request_id, scim_response,
    users::{unavailable, write_ctx, MAX_PAGE},
};
use crate::{
    groups::{Group, GroupError, Groups},
    scim::{self, error::ScimError, list, schema::Resource},
    state::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Groups", get(list_groups).post(create))
        .route("/Groups/.search", axum::routing::post(search))
        .route(
            "/Groups/{id}",
            get(get_group).put(replace).patch(patch).delete(delete),
        )
}

/// The one translation of the groups service's results into SCIM errors.
impl From<GroupError> for ScimError {
    fn from(e: GroupError) -> Self {
        match e {
            GroupError::NotFound(_) => ScimError::not_found(e.to_string()),
            GroupError::NameTaken(_) => ScimError::conflict_uniqueness(e.to_string()),
            GroupError::UnknownMember(_) => ScimError::invalid_value(e.to_string()),
            GroupError::VersionMismatch { .. } => ScimError::precondition_failed(e.to_string()),
            GroupError::Invalid(scim) => scim,
            GroupError::Store(e) => e.into(),
            GroupError::Contended | GroupError::Publish(_) | GroupError::Unexpected(_) => {
                unavailable(e)
            }
        }
    }
}

fn params(query: Option<&str>) -> Result<list::ListParams, ScimError> {
    list::parse_list_params_for(Resource::Group, query.unwrap_or(""), MAX_PAGE)
}

fn resource_response(groups: &Groups, status: StatusCode, g: &Group) -> Response {
    let mut resp = scim_response(status, groups.render(g));
    if let Ok(tag) = scim::user::etag(g.stored.version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    resp
}

async fn list_groups(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    list_page(&groups, &tenant.id, &params(query.as_deref())?).await
}

/// `POST /Groups/.search`: the query parameters as a JSON body (`search.rs`).
async fn search(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let query = super::search::query_of(&body)?;
    list_page(&groups, &tenant.id, &params(Some(&query))?).await
}

async fn list_page(
    groups: &Groups,
    tenant: &str,
    params: &list::ListParams,
) -> Result<Response, ScimError> {
    let found = groups.find(tenant, params).await?;
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

async fn get_group(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = params(query.as_deref())?;
    let excluded = params
        .excluded_attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("members"));
    let g = groups.get(&tenant.id, &id, !excluded).await?;
    let body = list::project(
        groups.render(&g),
        &params.attributes,
        &params.excluded_attributes,
    );
    let mut resp = scim_response(StatusCode::OK, body);
    if let Ok(tag) = scim::user::etag(g.stored.version).parse() {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(resp)
}

async fn create(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let req = scim::group::from_request(&body)?;
    let rid = request_id(&headers);
    let g = groups
        .create(&tenant.id, req, write_ctx(&headers, &rid, deadline))
        .await?;
    let mut resp = resource_response(&groups, StatusCode::CREATED, &g);
    if let Ok(loc) = format!("{}/Groups/{}", groups.scim_base(), g.stored.id).parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, loc);
    }
    Ok(resp)
}

async fn replace(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let req = scim::group::from_request(&body)?;
    let rid = request_id(&headers);
    let g = groups
        .replace(&tenant.id, &id, req, write_ctx(&headers, &rid, deadline))
        .await?;
    Ok(resource_response(&groups, StatusCode::OK, &g))
}

/// Answers 200 with the group (Okta accepts 200 or 204; Entra ignores the
/// body), so a client can read the result without another GET.
async fn patch(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let rid = request_id(&headers);
    let g = groups
        .patch(&tenant.id, &id, &body, write_ctx(&headers, &rid, deadline))
        .await?;
    Ok(resource_response(&groups, StatusCode::OK, &g))
}

async fn delete(
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    Path(id): Path<String>,
    deadline: Deadline,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let rid = request_id(&headers);
    groups
        .delete(&tenant.id, &id, write_ctx(&headers, &rid, deadline))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
