//! The Freshservice API v2 routes under `/{domain}/api/v2/…` and their thin handlers:
//! they read the request, call the account's operation, and shape the answer
//! (status, `Location`, `link`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use serde_json::{json, Value};

use crate::accounts::SimState;
use crate::errors::{json_response, ApiError};
use crate::gate::Ctx;
use crate::paging;

type ApiResult = Result<Response, ApiError>;

fn pairs(raw: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn id(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

/// A JSON request body: `Content-Type` must be `application/json` (415 otherwise,
/// `docs/freshservice.md` §1) and the body valid JSON (400 `invalid_json`).
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_string());
    match &ct {
        Some(c)
            if c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json") => {}
        Some(c) => return Err(ApiError::unsupported_media(c)),
        None => return Err(ApiError::unsupported_media("")),
    }
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())
}

/// For endpoints documented with an empty body: nothing (or `{}`) is accepted.
fn no_body(body: &Bytes) -> Result<(), ApiError> {
    let t = std::str::from_utf8(body).unwrap_or("x").trim();
    if t.is_empty() || t == "{}" {
        Ok(())
    } else {
        Err(ApiError::no_content_required())
    }
}

fn ok(v: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &v))
}

fn listing(
    ctx: &Ctx,
    path: &str,
    raw: &Option<String>,
    key: &str,
    items: Vec<Value>,
    next: Option<usize>,
) -> ApiResult {
    let mut r = json_response(StatusCode::OK, &json!({ key: items }));
    if let Some(n) = next {
        let link = paging::link(&ctx.base, path, raw.as_deref().unwrap_or(""), n);
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(r)
}

fn created(ctx: &Ctx, path: &str, key: &str, v: Value) -> ApiResult {
    let id = v["id"].as_u64().unwrap_or_default();
    let mut r = json_response(StatusCode::CREATED, &json!({ key: v }));
    if let Ok(loc) = HeaderValue::from_str(&format!("{}{}/{}", ctx.base, path, id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn list_requesters(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let acct = ctx.account.lock().await;
    let l = acct.list_requesters(&pairs(&raw))?;
    let next = l.has_next.then_some(l.page.page + 1);
    listing(
        &ctx,
        "/api/v2/requesters",
        &raw,
        "requesters",
        l.items,
        next,
    )
}

async fn create_requester(
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let v = json_body(&headers, &body)?;
    let r = ctx.account.lock().await.create_requester(&v)?;
    created(&ctx, "/api/v2/requesters", "requester", r)
}

async fn view_requester(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
) -> ApiResult {
    let acct = ctx.account.lock().await;
    let u = acct.requester(id(&rid)?)?;
    ok(json!({"requester": acct.requester_json(u)}))
}

async fn update_requester(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let rid = id(&rid)?;
    let v = json_body(&headers, &body)?;
    let r = ctx.account.lock().await.update_requester(rid, &v)?;
    ok(json!({"requester": r}))
}

async fn deactivate_requester(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
) -> ApiResult {
    ctx.account.lock().await.deactivate_requester(id(&rid)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reactivate_requester(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let rid = id(&rid)?;
    no_body(&body)?;
    let r = ctx.account.lock().await.reactivate_requester(rid)?;
    ok(json!({"requester": r}))
}

async fn forget_requester(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
) -> ApiResult {
    ctx.account.lock().await.forget_requester(id(&rid)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn convert_to_agent(
    Extension(ctx): Extension<Ctx>,
    Path((_, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let rid = id(&rid)?;
    no_body(&body)?;
    let r = ctx.account.lock().await.convert_to_agent(rid)?;
    ok(json!({"agent": r}))
}

async fn requester_fields(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let mut groups = false;
    for (k, v) in pairs(&raw) {
        match (k.as_str(), v.as_str()) {
            ("include", "user_field_groups") => groups = true,
            ("include", _) => {
                return Err(ApiError::field(crate::errors::FieldError::not_a_choice(
                    "include",
                )))
            }
            _ => {
                return Err(ApiError::field(crate::errors::FieldError::invalid_field(
                    &k,
                )))
            }
        }
    }
    let acct = ctx.account.lock().await;
    ok(json!({"requester_fields": acct.requester_fields_json(groups)}))
}

async fn list_groups(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = paging::parse(&pairs(&raw), None, None)?;
    let (items, more) = ctx.account.lock().await.list_groups(p);
    listing(
        &ctx,
        "/api/v2/requester_groups",
        &raw,
        "requester_groups",
        items,
        more.then_some(p.page + 1),
    )
}

async fn create_group(
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let v = json_body(&headers, &body)?;
    let g = ctx.account.lock().await.create_group(&v)?;
    created(&ctx, "/api/v2/requester_groups", "requester_group", g)
}

async fn view_group(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid)): Path<(String, String)>,
) -> ApiResult {
    let g = ctx.account.lock().await.view_group(id(&gid)?)?;
    ok(json!({"requester_group": g}))
}

async fn update_group(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let gid = id(&gid)?;
    let v = json_body(&headers, &body)?;
    let g = ctx.account.lock().await.update_group(gid, &v)?;
    ok(json!({"requester_group": g}))
}

async fn delete_group(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid)): Path<(String, String)>,
) -> ApiResult {
    ctx.account.lock().await.delete_group(id(&gid)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_members(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let gid = id(&gid)?;
    let p = paging::parse(&pairs(&raw), None, None)?;
    let (items, more) = ctx.account.lock().await.list_members(gid, p)?;
    let path = format!("/api/v2/requester_groups/{gid}/members");
    listing(
        &ctx,
        &path,
        &raw,
        "requesters",
        items,
        more.then_some(p.page + 1),
    )
}

async fn add_member(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid, rid)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let (gid, rid) = (id(&gid)?, id(&rid)?);
    no_body(&body)?;
    ctx.account.lock().await.add_member(gid, rid)?;
    Ok(StatusCode::OK.into_response())
}

async fn remove_member(
    Extension(ctx): Extension<Ctx>,
    Path((_, gid, rid)): Path<(String, String, String)>,
) -> ApiResult {
    let (gid, rid) = (id(&gid)?, id(&rid)?);
    ctx.account.lock().await.remove_member(gid, rid)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_departments(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let (items, more, p) = ctx.account.lock().await.list_departments(&pairs(&raw))?;
    listing(
        &ctx,
        "/api/v2/departments",
        &raw,
        "departments",
        items,
        more.then_some(p.page + 1),
    )
}

async fn create_department(
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let v = json_body(&headers, &body)?;
    let d = ctx.account.lock().await.create_department(&v)?;
    created(&ctx, "/api/v2/departments", "department", d)
}

async fn view_department(
    Extension(ctx): Extension<Ctx>,
    Path((_, did)): Path<(String, String)>,
) -> ApiResult {
    let d = ctx.account.lock().await.view_department(id(&did)?)?;
    ok(json!({"department": d}))
}

async fn list_locations(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let (items, more, p) = ctx.account.lock().await.list_locations(&pairs(&raw))?;
    listing(
        &ctx,
        "/api/v2/locations",
        &raw,
        "locations",
        items,
        more.then_some(p.page + 1),
    )
}

async fn view_location(
    Extension(ctx): Extension<Ctx>,
    Path((_, lid)): Path<(String, String)>,
) -> ApiResult {
    let l = ctx.account.lock().await.view_location(id(&lid)?)?;
    ok(json!({"location": l}))
}

async fn list_agents(Extension(ctx): Extension<Ctx>, RawQuery(raw): RawQuery) -> ApiResult {
    let (items, more, p) = ctx.account.lock().await.list_agents(&pairs(&raw))?;
    listing(
        &ctx,
        "/api/v2/agents",
        &raw,
        "agents",
        items,
        more.then_some(p.page + 1),
    )
}

async fn view_agent(
    Extension(ctx): Extension<Ctx>,
    Path((_, aid)): Path<(String, String)>,
) -> ApiResult {
    let a = ctx.account.lock().await.view_agent(id(&aid)?)?;
    ok(json!({"agent": a}))
}

async fn not_found() -> ApiResult {
    Err(ApiError::NotFound)
}

/// The API router (every route behind [`crate::gate::gate`]).
pub fn router(state: SimState) -> Router {
    const P: &str = "/{domain}/api/v2";
    Router::new()
        .route(
            &format!("{P}/requesters"),
            get(list_requesters).post(create_requester),
        )
        .route(
            &format!("{P}/requesters/{{id}}"),
            get(view_requester)
                .put(update_requester)
                .delete(deactivate_requester),
        )
        .route(
            &format!("{P}/requesters/{{id}}/reactivate"),
            put(reactivate_requester),
        )
        .route(
            &format!("{P}/requesters/{{id}}/forget"),
            axum::routing::delete(forget_requester),
        )
        .route(
            &format!("{P}/requesters/{{id}}/convert_to_agent"),
            put(convert_to_agent),
        )
        .route(&format!("{P}/requester_fields"), get(requester_fields))
        .route(
            &format!("{P}/requester_groups"),
            get(list_groups).post(create_group),
        )
        .route(
            &format!("{P}/requester_groups/{{id}}"),
            get(view_group).put(update_group).delete(delete_group),
        )
        .route(
            &format!("{P}/requester_groups/{{id}}/members"),
            get(list_members),
        )
        .route(
            &format!("{P}/requester_groups/{{id}}/members/{{rid}}"),
            post(add_member).delete(remove_member),
        )
        .route(
            &format!("{P}/departments"),
            get(list_departments).post(create_department),
        )
        .route(&format!("{P}/departments/{{id}}"), get(view_department))
        .route(&format!("{P}/locations"), get(list_locations))
        .route(&format!("{P}/locations/{{id}}"), get(view_location))
        .route(&format!("{P}/agents"), get(list_agents))
        .route(&format!("{P}/agents/{{id}}"), get(view_agent))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::gate::gate,
        ))
}
