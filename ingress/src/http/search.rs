//! SCIM searches by POST (RFC 7644 §3.4.3): `/Users/.search`,
//! `/Groups/.search` and the root `/.search`, which searches every resource
//! type at once (users first, then groups, one page over both). The body
//! is turned back into the query string the GET lists read, so both forms
//! share one validator (`crate::scim::list`).

use axum::{extract::State, http::StatusCode, response::Response, routing::post, Router};
use serde_json::Value;

use super::{auth::ScimTenant, body::ScimJson, scim_response, users::MAX_PAGE};
use crate::{
    groups::Groups,
    scim::{error::ScimError, list, schema::Resource},
    state::AppState,
    users::Users,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/.search", post(search_all))
}

/// A SearchRequest body as a query string.
pub(super) fn query_of(body: &Value) -> Result<String, ScimError> {
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
    Ok(q.finish())
}

/// `POST /.search`. A filter that names an attribute of one resource type
/// only (`userName`) searches that type; one that fits neither is the
/// User schema's 400.
async fn search_all(
    State(users): State<Users>,
    State(groups): State<Groups>,
    ScimTenant(tenant): ScimTenant,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let query = query_of(&body)?;
    let as_user = list::parse_list_params(&query, MAX_PAGE);
    let as_group = list::parse_list_params_for(Resource::Group, &query, MAX_PAGE);
    let (as_user, as_group) = match (as_user, as_group) {
        (Err(e), Err(_)) => return Err(e),
        (u, g) => (u.ok(), g.ok()),
    };
    let Some(first) = as_user.as_ref().or(as_group.as_ref()) else {
        return Err(ScimError::invalid_value("nothing to search"));
    };
    let (start, count) = (first.start_index, first.count);
    let mut total = 0;
    let mut resources = Vec::new();
    if let Some(p) = &as_user {
        let mut found = users.find(&tenant.id, p).await?;
        groups
            .attach_to_users(&tenant.id, &mut found.resources)
            .await?;
        total += found.total;
        resources.extend(
            found
                .resources
                .into_iter()
                .map(|r| list::project(r, &p.attributes, &p.excluded_attributes)),
        );
    }
    if let Some(p) = &as_group {
        // The groups come after every user: skip as many of them as the
        // page's start lies past the users.
        let mut gp = p.clone();
        gp.start_index = (start - 1).saturating_sub(total) + 1;
        gp.count = count.saturating_sub(resources.len());
        let found = groups.find(&tenant.id, &gp).await?;
        total += found.total;
        resources.extend(
            found
                .resources
                .into_iter()
                .map(|r| list::project(r, &p.attributes, &p.excluded_attributes)),
        );
    }
    Ok(scim_response(
        StatusCode::OK,
        list::list_response(total, start, resources),
    ))
}
