//! `FsClient`: one tenant's Freshservice account, authenticated with its API
//! key (HTTP Basic, key as user, `X` as password), reached on the one HTTP
//! client the process builds with [`http_client`]. A call is described by a
//! [`Call`] (so the caller can pass every call through the tenant's budget
//! first) and its answer is classified into [`FsError`]; bodies are kept
//! verbatim for the operator. The rate-limit headers come back with every
//! answer, failed or not, so the budget can be corrected.
//!
//! Redirects are never followed: the request carries the API key and a
//! requester's name and email, and a 3xx (Freshservice sends one for an
//! account that no longer lives at this domain) would hand both to another
//! host. A 3xx is a failure like any other, naming where it pointed.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    error::{classify, transport, FsError},
    UrlTemplate,
};

/// The part of a requester the worker reads back.
#[derive(Clone, Debug, Deserialize)]
pub struct Requester {
    pub id: u64,
    #[serde(default)]
    pub primary_email: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub is_agent: Option<bool>,
    /// An admin's setting, not the bridge's: a PUT resets it unless it is
    /// sent as `true` (`docs/freshservice.md` §2.2), so the worker reads it
    /// here and sends it back. `None`: Freshservice did not say.
    #[serde(default, rename = "can_see_all_tickets_from_associated_departments")]
    pub sees_department_tickets: Option<bool>,
}

/// A department, as the worker matches Okta's `department` name to it.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Department {
    pub id: u64,
    pub name: String,
}

/// What a requester group is (`docs/freshservice.md` §4): only `manual`
/// ones take members and changes through the API.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Also what a group whose answer does not say its type is taken for:
    /// a refused change then names Freshservice's reason.
    #[default]
    Manual,
    RuleBased,
    /// A type this build does not know (treated like `manual`).
    #[serde(other)]
    Other,
}

/// A requester group, as the worker links and renames it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct RequesterGroup {
    pub id: u64,
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: GroupKind,
}

/// One member of a requester group (member lists show `email`, not
/// `primary_email`: `docs/freshservice.md` §4).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct GroupMember {
    pub id: u64,
    #[serde(default)]
    pub email: Option<String>,
}

/// One Freshservice API call, not yet sent.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    /// Path under `/api/v2`, with its query string.
    pub path: String,
    pub body: Option<Value>,
    /// Short name for logs and metrics (`create`, `update`, …).
    pub op: &'static str,
}

impl Call {
    /// The `op` of [`Call::create`].
    pub const CREATE_OP: &'static str = "create";
    pub fn create(body: Map<String, Value>) -> Self {
        Self::new(
            Method::POST,
            "/requesters".into(),
            Some(Value::Object(body)),
            Self::CREATE_OP,
        )
    }
    pub fn update(id: u64, body: Map<String, Value>) -> Self {
        Self::new(
            Method::PUT,
            format!("/requesters/{id}"),
            Some(Value::Object(body)),
            "update",
        )
    }
    pub fn get(id: u64) -> Self {
        Self::new(Method::GET, format!("/requesters/{id}"), None, "get")
    }
    /// Looks an email up among requesters *and* agents (`docs/freshservice.md` §8).
    pub fn find_by_email(email: &str) -> Self {
        let e = utf8_percent_encode(email, NON_ALPHANUMERIC);
        Self::new(
            Method::GET,
            format!("/requesters?email={e}&include_agents=true"),
            None,
            "find_by_email",
        )
    }
    /// Looks an email up with the `query=` filter instead (requesters and
    /// agents): the second way to find a user, for when `?email=` found
    /// nobody yet Freshservice calls the email taken; `?email=` may leave
    /// deactivated requesters out (`docs/freshservice.md` §8). `None` for an
    /// email the filter language cannot quote.
    pub fn search_by_email(email: &str) -> Option<Self> {
        if email.contains(['\'', '"', '\\']) || email.len() > 400 {
            return None;
        }
        let q = format!("\"primary_email:'{email}'\"");
        let q = utf8_percent_encode(&q, NON_ALPHANUMERIC);
        Some(Self::new(
            Method::GET,
            format!("/requesters?query={q}&include_agents=true"),
            None,
            "search_by_email",
        ))
    }
    /// Deactivates (204); the requester can be reactivated.
    pub fn deactivate(id: u64) -> Self {
        Self::new(
            Method::DELETE,
            format!("/requesters/{id}"),
            None,
            "deactivate",
        )
    }
    /// Permanent delete, tickets included: only for SCIM DELETE in forget mode.
    pub fn forget(id: u64) -> Self {
        Self::new(
            Method::DELETE,
            format!("/requesters/{id}/forget"),
            None,
            "forget",
        )
    }
    pub fn reactivate(id: u64) -> Self {
        Self::new(
            Method::PUT,
            format!("/requesters/{id}/reactivate"),
            None,
            "reactivate",
        )
    }
    /// One requester: cheap proof that the key may manage requesters (the
    /// install check; `requester_fields` is readable by any agent).
    pub fn list_requesters_page() -> Self {
        Self::new(
            Method::GET,
            "/requesters?per_page=1".into(),
            None,
            "list_requesters",
        )
    }
    /// One page (100, the most Freshservice gives) of every user of the
    /// account, agents included (`is_agent`), for `worker resync`;
    /// [`Answer::more`] says whether another follows (`docs/freshservice.md`
    /// §2.3).
    pub fn requesters_page(page: u32) -> Self {
        Self::new(
            Method::GET,
            format!("/requesters?per_page=100&page={page}&include_agents=true"),
            None,
            "list_requesters",
        )
    }
    /// One page (100, the most Freshservice gives) of the account's
    /// departments; [`Answer::more`] says whether another follows.
    pub fn departments_page(page: u32) -> Self {
        Self::new(
            Method::GET,
            format!("/departments?per_page=100&page={page}"),
            None,
            "list_departments",
        )
    }
    /// Creates a department (a tenant's opt-in for names Okta sends that
    /// the account lacks).
    pub fn create_department(name: &str) -> Self {
        Self::new(
            Method::POST,
            "/departments".into(),
            Some(serde_json::json!({ "name": name })),
            "create_department",
        )
    }
    /// One page (100) of the account's requester groups, both types;
    /// [`Answer::more`] says whether another follows.
    pub fn requester_groups_page(page: u32) -> Self {
        Self::new(
            Method::GET,
            format!("/requester_groups?per_page=100&page={page}"),
            None,
            "list_requester_groups",
        )
    }
    pub fn requester_group(id: u64) -> Self {
        Self::new(
            Method::GET,
            format!("/requester_groups/{id}"),
            None,
            "get_requester_group",
        )
    }
    /// Creates a manual requester group (the API makes no other kind).
    pub fn create_requester_group(name: &str) -> Self {
        Self::new(
            Method::POST,
            "/requester_groups".into(),
            Some(serde_json::json!({ "name": name })),
            "create_requester_group",
        )
    }
    pub fn rename_requester_group(id: u64, name: &str) -> Self {
        Self::new(
            Method::PUT,
            format!("/requester_groups/{id}"),
            Some(serde_json::json!({ "name": name })),
            "update_requester_group",
        )
    }
    /// Disbands the group (204); its requesters stay.
    pub fn delete_requester_group(id: u64) -> Self {
        Self::new(
            Method::DELETE,
            format!("/requester_groups/{id}"),
            None,
            "delete_requester_group",
        )
    }
    /// Adds one requester (200, no body either way).
    pub fn add_group_member(group: u64, requester: u64) -> Self {
        Self::new(
            Method::POST,
            format!("/requester_groups/{group}/members/{requester}"),
            None,
            "add_group_member",
        )
    }
    /// Removes one requester (204).
    pub fn remove_group_member(group: u64, requester: u64) -> Self {
        Self::new(
            Method::DELETE,
            format!("/requester_groups/{group}/members/{requester}"),
            None,
            "remove_group_member",
        )
    }
    /// One page (100) of a group's members.
    pub fn group_members_page(group: u64, page: u32) -> Self {
        Self::new(
            Method::GET,
            format!("/requester_groups/{group}/members?per_page=100&page={page}"),
            None,
            "list_group_members",
        )
    }
    pub fn requester_fields() -> Self {
        Self::new(
            Method::GET,
            "/requester_fields".into(),
            None,
            "requester_fields",
        )
    }

    fn new(method: Method, path: String, body: Option<Value>, op: &'static str) -> Self {
        Self {
            method,
            path,
            body,
            op,
        }
    }
}

/// A successful answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    /// A `Link: <…>; rel="next"` header came with it: a list has another
    /// page (Freshservice gives no count; `docs/freshservice.md` §2.3).
    pub more: bool,
}

impl Answer {
    /// The body as JSON; an unreadable one is worth another try.
    pub fn json(&self) -> Result<Value, FsError> {
        serde_json::from_str(&self.text)
            .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
    }
}

/// What came back from one call: the result, plus `X-Ratelimit-Remaining`
/// whenever Freshservice sent it.
#[derive(Debug)]
pub struct Sent {
    pub result: Result<Answer, FsError>,
    pub remaining: Option<u32>,
    /// HTTP status, 0 when no answer arrived (for metrics).
    pub status: u16,
}

#[derive(Clone)]
pub struct FsClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
}

impl std::fmt::Debug for FsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Builds the HTTP client a process sends every Freshservice call on:
/// keep-alive pool, `timeout` per call (connecting included), one user
/// agent, and no redirects (see the module doc).
// Building fails only if the TLS backend cannot start, which no caller
// could recover from at start-up.
#[allow(clippy::expect_used)]
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "okta-freshservice-bridge/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .expect("reqwest client builds")
}

impl FsClient {
    /// `base` is the account's base URL, e.g. `https://acme.freshservice.com`.
    pub fn new(http: reqwest::Client, base: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            http,
            base: base.into(),
            api_key: api_key.into(),
        }
    }

    /// The account at `domain` (already normalised) under `template`.
    pub fn for_domain(
        http: reqwest::Client,
        template: &UrlTemplate,
        domain: &str,
        api_key: impl Into<String>,
    ) -> Self {
        Self::new(http, template.base(domain), api_key)
    }

    /// Sends one call. Never panics and never retries: retries belong to the
    /// caller, which must pass each try through the budget. Each call is
    /// logged (info) with its operation, status (0: no answer) and
    /// latency, under the caller's span: the worker's carries the SCIM
    /// request's id (`worker/src/consume.rs`).
    pub async fn send(&self, call: &Call) -> Sent {
        let started = std::time::Instant::now();
        let sent = self.send_once(call).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        // No body, path or error text: they may hold a person's data; the
        // caller logs what it makes of a failure.
        tracing::info!(
            op = call.op,
            status = sent.status,
            latency_ms,
            ok = sent.result.is_ok(),
            "freshservice call"
        );
        sent
    }

    async fn send_once(&self, call: &Call) -> Sent {
        let url = format!("{}/api/v2{}", self.base, call.path);
        let mut req = self
            .http
            .request(call.method.clone(), &url)
            .basic_auth(&self.api_key, Some("X"))
            .header("Accept", "application/json");
        match &call.body {
            Some(b) => req = req.json(b),
            // Freshservice wants JSON even on empty PUTs (reactivate) and
            // POSTs (a group member add).
            None if call.method == Method::PUT || call.method == Method::POST => {
                req = req.header("Content-Type", "application/json")
            }
            None => {}
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Sent {
                    result: Err(transport(&e)),
                    remaining: None,
                    status: 0,
                }
            }
        };
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let retry_after = header("retry-after");
        let remaining = header("x-ratelimit-remaining").map(|r| r.min(u32::MAX as u64) as u32);
        let more = resp
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("rel=\"next\"") || v.contains("rel=next"));
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|l| location_host(resp.url(), l))
                .unwrap_or_else(|| "nowhere (no Location header)".into());
            return Sent {
                result: Err(FsError::Redirected {
                    status: status.as_u16(),
                    location,
                }),
                remaining,
                status: status.as_u16(),
            };
        }
        let result = match resp.text().await {
            Err(e) => Err(transport(&e)),
            Ok(text) if status.is_success() => Ok(Answer {
                status: status.as_u16(),
                text,
                more,
            }),
            Ok(text) => Err(classify(status, retry_after, text)),
        };
        Sent {
            result,
            remaining,
            status: status.as_u16(),
        }
    }
}

/// The host (and port, if any) a redirect's `Location` points at, resolved
/// against the request's URL. Only the host is kept: a path or query could
/// carry anything.
fn location_host(request: &reqwest::Url, location: &str) -> String {
    match request.join(location) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => "an address without a host".into(),
        },
        Err(_) => "an unreadable address".into(),
    }
}

/// `{"requester": {…}}` → the requester.
pub fn parse_requester(text: &str) -> Result<Requester, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        requester: Requester,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.requester)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// `{"departments": […]}` → the list.
pub fn parse_departments(text: &str) -> Result<Vec<Department>, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        departments: Vec<Department>,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.departments)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// `{"department": {…}}` → the department.
pub fn parse_department(text: &str) -> Result<Department, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        department: Department,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.department)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// `{"requester_groups": […]}` → the list.
pub fn parse_requester_groups(text: &str) -> Result<Vec<RequesterGroup>, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        requester_groups: Vec<RequesterGroup>,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.requester_groups)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// `{"requester_group": {…}}` → the group.
pub fn parse_requester_group(text: &str) -> Result<RequesterGroup, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        requester_group: RequesterGroup,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.requester_group)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// A group's member page, `{"requesters": [{"id", …, "email"}]}` → the list.
pub fn parse_group_members(text: &str) -> Result<Vec<GroupMember>, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        requesters: Vec<GroupMember>,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.requesters)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

/// `{"requesters": […]}` → the list.
pub fn parse_requesters(text: &str) -> Result<Vec<Requester>, FsError> {
    #[derive(Deserialize)]
    struct Wrap {
        requesters: Vec<Requester>,
    }
    serde_json::from_str::<Wrap>(text)
        .map(|w| w.requesters)
        .map_err(|e| FsError::unreadable(format!("unreadable Freshservice answer: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use axum::{http::header, routing::any, Router};
    use reqwest::StatusCode;

    use super::*;

    /// Serves `app` on a free local port; returns its base URL.
    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    /// Found by a security probe: "Freshservice" answered 307 and the
    /// worker re-sent the requester's name and email to the other host.
    #[tokio::test]
    async fn a_redirect_is_never_followed_and_is_a_classified_failure() {
        let elsewhere_hits = Arc::new(AtomicUsize::new(0));
        let hits = elsewhere_hits.clone();
        let elsewhere = serve(Router::new().fallback(any(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { "{}" }
        })))
        .await;
        let target = format!("{elsewhere}/api/v2/requesters");
        let fs_hits = Arc::new(AtomicUsize::new(0));
        let seen = fs_hits.clone();
        let freshservice = serve(Router::new().fallback(any(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, target)],
                    "",
                )
            }
        })))
        .await;

        let api_key = "redirect-test-api-key";
        let client = FsClient::new(http_client(Duration::from_secs(5)), freshservice, api_key);
        let mut body = Map::new();
        body.insert("first_name".into(), "Ada".into());
        body.insert("primary_email".into(), "ada@example.com".into());
        let sent = client.send(&Call::create(body)).await;

        assert_eq!(fs_hits.load(Ordering::SeqCst), 1, "Freshservice was called");
        assert_eq!(
            elsewhere_hits.load(Ordering::SeqCst),
            0,
            "the redirect was followed to another host"
        );
        assert_eq!(sent.status, 307);
        let err = sent.result.expect_err("a redirect is a failure");
        let host = elsewhere.trim_start_matches("http://");
        assert!(
            matches!(&err, FsError::Redirected { status: 307, location } if location == host),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.class(), "redirect");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("redirect (307) to {host}")) && msg.contains("never followed"),
            "{msg}"
        );
        assert!(!msg.contains(api_key), "{msg}");
    }

    #[test]
    fn a_redirect_names_only_the_host_it_points_at() {
        let from = reqwest::Url::parse("https://acme.freshservice.com/api/v2/requesters").unwrap();
        assert_eq!(
            location_host(&from, "https://evil.example:8443/x?email=a@b.c"),
            "evil.example:8443"
        );
        assert_eq!(location_host(&from, "/signup?x=1"), "acme.freshservice.com");
    }

    #[test]
    fn email_lookup_is_url_encoded_and_includes_agents() {
        let c = Call::find_by_email("a+b@x.com");
        assert_eq!(
            c.path,
            "/requesters?email=a%2Bb%40x%2Ecom&include_agents=true"
        );
    }

    #[test]
    fn requester_lists_parse() {
        let l = parse_requesters(
            r#"{"requesters":[{"id":5,"primary_email":"a@b.c","active":false,"is_agent":true}]}"#,
        )
        .unwrap();
        assert_eq!(l[0].id, 5);
        assert_eq!(l[0].is_agent, Some(true));
        assert!(parse_requester("{}").is_err());
    }

    #[test]
    fn requester_groups_parse_with_their_type() {
        let l = parse_requester_groups(
            r#"{"requester_groups":[
                {"id":1,"name":"Branch Managers","description":null,"type":"manual","workspace_id":1},
                {"id":2,"name":"Everyone in Paris","type":"rule_based"},
                {"id":3,"name":"Later","type":"smart"},
                {"id":4,"name":"Untyped"}]}"#,
        )
        .unwrap();
        let kinds: Vec<(u64, &str, GroupKind)> = l
            .iter()
            .map(|g| (g.id, g.name.as_str(), g.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                (1, "Branch Managers", GroupKind::Manual),
                (2, "Everyone in Paris", GroupKind::RuleBased),
                (3, "Later", GroupKind::Other),
                (4, "Untyped", GroupKind::Manual),
            ]
        );
        let g =
            parse_requester_group(r#"{"requester_group":{"id":9,"name":"Ops","type":"manual"}}"#)
                .unwrap();
        assert_eq!((g.id, g.name.as_str()), (9, "Ops"));
        assert!(parse_requester_group(r#"{"requester_groups":[]}"#).is_err());
        assert!(parse_requester_groups(r#"{"requester_group":{}}"#).is_err());
    }

    #[test]
    fn group_members_parse_from_requesters_with_email() {
        let m = parse_group_members(
            r#"{"requesters":[{"id":5,"first_name":"A","last_name":null,"email":"a@x.test"},{"id":6,"first_name":"B"}]}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            [
                GroupMember {
                    id: 5,
                    email: Some("a@x.test".into())
                },
                GroupMember { id: 6, email: None }
            ]
        );
        assert!(parse_group_members("[]").is_err());
    }

    #[test]
    fn group_calls_name_their_paths_and_ops() {
        let rows = [
            (
                Call::requester_groups_page(2),
                "GET",
                "/requester_groups?per_page=100&page=2",
                "list_requester_groups",
            ),
            (
                Call::requester_group(7),
                "GET",
                "/requester_groups/7",
                "get_requester_group",
            ),
            (
                Call::create_requester_group("Ops"),
                "POST",
                "/requester_groups",
                "create_requester_group",
            ),
            (
                Call::rename_requester_group(7, "Ops"),
                "PUT",
                "/requester_groups/7",
                "update_requester_group",
            ),
            (
                Call::delete_requester_group(7),
                "DELETE",
                "/requester_groups/7",
                "delete_requester_group",
            ),
            (
                Call::add_group_member(7, 11),
                "POST",
                "/requester_groups/7/members/11",
                "add_group_member",
            ),
            (
                Call::remove_group_member(7, 11),
                "DELETE",
                "/requester_groups/7/members/11",
                "remove_group_member",
            ),
            (
                Call::group_members_page(7, 1),
                "GET",
                "/requester_groups/7/members?per_page=100&page=1",
                "list_group_members",
            ),
        ];
        for (c, method, path, op) in rows {
            assert_eq!(
                (c.method.as_str(), c.path.as_str(), c.op),
                (method, path, op)
            );
        }
        assert_eq!(
            Call::create_requester_group("Ops").body,
            Some(serde_json::json!({"name": "Ops"}))
        );
        assert_eq!(
            Call::rename_requester_group(7, "Ops 2").body,
            Some(serde_json::json!({"name": "Ops 2"}))
        );
        assert_eq!(Call::add_group_member(7, 11).body, None);
    }
}
