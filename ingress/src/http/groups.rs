//! `/scim/v2/Groups`: until group push lands, an empty list so Okta's
//! "Test API Credentials" (`GET /Groups?startIndex=1&count=100`) passes.

use axum::{
    extract::{Path, RawQuery},
    http::StatusCode,
    response::Response,
    routing::get,
    Router,
};

use super::{auth::ScimTenant, scim_response};
use crate::{
    scim::{error::ScimError, list},
    state::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Groups", get(list_groups).post(not_yet))
        .route(
            "/Groups/{id}",
            get(get_group).put(not_yet).patch(not_yet).delete(not_yet),
        )
}

async fn list_groups(
    _tenant: ScimTenant,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    // Parse anyway, so a malformed filter is a 400 here too.
    let params = list::parse_list_params_for(
        crate::scim::schema::Resource::Group,
        query.as_deref().unwrap_or(""),
        super::users::MAX_PAGE,
    )?;
    Ok(scim_response(
        StatusCode::OK,
        list::list_response(0, params.start_index, vec![]),
    ))
}

async fn get_group(_tenant: ScimTenant, Path(id): Path<String>) -> ScimError {
    ScimError::not_found(format!("Group {id} not found"))
}

async fn not_yet(_tenant: ScimTenant) -> ScimError {
    ScimError::new(
        501,
        None,
        "group push is not supported yet: turn off Push Groups for this app in Okta",
    )
}
