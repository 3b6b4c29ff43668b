//! Resolving what a user's enterprise attributes name, so the mapping can
//! fill `department_ids` and `reporting_manager_id`
//! (`shared/mapping/src/enterprise.rs` decides what goes in the body):
//!
//! - **Department**: Okta sends a name; the account's departments are read
//!   page by page, cached in Redis (`Keys::departments`, with the requester
//!   fields' lifetime) and matched case-insensitively. A name not found
//!   refreshes the cache, at most once per `DEPARTMENTS_REFRESH_MS`, so a burst of
//!   users naming a department that does not exist costs one listing, not
//!   one per user. A tenant may choose to create the missing department.
//! - **Manager**: `manager.value` may be our SCIM id, the manager's
//!   userName or email, or their externalId (IdPs and admins differ). It is
//!   looked up among the tenant's SCIM users (the ingress's indexes), then
//!   the requester linked to that user. A manager without a requester yet
//!   leaves the field empty and registers the user as waiting
//!   (`Keys::manager_waiters`); when the manager's requester is recorded,
//!   [`wake_waiters`] converges the waiting users again. Nothing polls.
//!   A reference that is no user of the tenant but looks like an email is
//!   looked up once in Freshservice (an agent, or a requester made by hand),
//!   and the answer cached for [`EMAIL_LOOKUP_TTL`].

use std::time::Duration;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use shared::{
    event::ChangeEvent,
    freshservice::{client, Call, Department},
    identity,
    mapping::{MappingSettings, Refs, Resolution, Resolved},
};

use super::{api::Halt, api::TenantApi, failure, Inner};

/// How long "this email is (not) a Freshservice user" is remembered.
pub const EMAIL_LOOKUP_TTL: Duration = Duration::from_secs(600);
/// A failed wake-up is tried again after this long (the users stay in the
/// waiting set until their event is confirmed).
const WAKE_RETRY: Duration = Duration::from_secs(5);
/// Listing stops here (10,000 departments), so a misbehaving account cannot
/// keep a worker paging forever.
const MAX_PAGES: u32 = 100;

/// The cached departments (`Keys::departments`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Departments {
    fetched_at_ms: i64,
    list: Vec<Department>,
}

impl Departments {
    fn find(&self, name: &str) -> Option<u64> {
        let want = identity::fold(name);
        self.list
            .iter()
            .find(|d| identity::fold(&d.name) == want)
            .map(|d| d.id)
    }

    fn age(&self) -> Duration {
        let now = chrono::Utc::now().timestamp_millis();
        Duration::from_millis(now.saturating_sub(self.fetched_at_ms).max(0) as u64)
    }
}

/// The department and manager of one user, and what it waits for.
pub(super) struct Lookup {
    pub resolved: Resolved,
    /// The manager reference this user waits on (`None`: not waiting).
    pub waiting_for: Option<String>,
}

pub(super) struct Resolver<'a> {
    pub inner: &'a Inner,
    pub api: &'a TenantApi<'a>,
    pub settings: &'a MappingSettings,
}

impl Resolver<'_> {
    fn tenant(&self) -> &str {
        self.api.tenant
    }

    /// Resolves what `refs` names, for the rows the tenant has on.
    pub async fn resolve(&self, user_id: &str, refs: &Refs) -> Result<Lookup, Halt> {
        use shared::mapping::Row;
        let mut out = Lookup {
            resolved: Resolved::default(),
            waiting_for: None,
        };
        if let Some(name) = refs.department.as_deref() {
            if self.settings.is_on(Row::Department) {
                out.resolved.department = Some(self.department(name).await?);
            }
        }
        if let Some(reference) = refs.manager.as_deref() {
            if self.settings.is_on(Row::Manager) {
                let (r, waiting) = self.manager(user_id, reference).await?;
                out.resolved.manager = Some(r);
                out.waiting_for = waiting;
            }
        }
        Ok(out)
    }

    async fn department(&self, name: &str) -> Result<Resolution, Halt> {
        let mut cache = match self.cached_departments().await? {
            Some(c) => c,
            None => match self.list_departments().await? {
                Ok(c) => c,
                Err(note) => return Ok(Resolution::Unresolved(note)),
            },
        };
        if let Some(id) = cache.find(name) {
            return Ok(Resolution::Found(id));
        }
        if cache.age() >= self.inner.config.departments_refresh {
            cache = match self.list_departments().await? {
                Ok(c) => c,
                Err(note) => return Ok(Resolution::Unresolved(note)),
            };
            if let Some(id) = cache.find(name) {
                return Ok(Resolution::Found(id));
            }
        }
        if !self.settings.create_missing_departments {
            return Ok(Resolution::Unresolved(format!(
                "department {name:?} matches none of this account's departments; department_ids not sent (create it in Freshservice, or let the bridge create missing departments on the settings page)"
            )));
        }
        self.create_department(name, cache).await
    }

    async fn create_department(
        &self,
        name: &str,
        mut cache: Departments,
    ) -> Result<Resolution, Halt> {
        match self.api.call(Call::create_department(name)).await {
            Ok(a) => {
                let d = client::parse_department(&a.text).map_err(Halt::Fs)?;
                tracing::info!(tenant = self.tenant(), department = %d.name, id = d.id, "created a department Okta names");
                let id = d.id;
                cache.list.push(d);
                self.store_departments(&cache).await?;
                Ok(Resolution::Found(id))
            }
            // Someone made it meanwhile (another worker, an admin): read again.
            Err(Halt::Fs(e)) if e.is_duplicate_value("name") => {
                match self.list_departments().await? {
                    Ok(c) => Ok(c.find(name).map_or_else(
                        || {
                            Resolution::Unresolved(format!(
                            "Freshservice says a department named {name:?} exists but does not list it: {e}"
                        ))
                        },
                        Resolution::Found,
                    )),
                    Err(note) => Ok(Resolution::Unresolved(note)),
                }
            }
            Err(Halt::Fs(e))
                if !e.is_retryable()
                    && !matches!(e, shared::freshservice::FsError::Credentials { .. }) =>
            {
                Ok(Resolution::Unresolved(format!(
                    "department {name:?} could not be created: {e}; department_ids not sent"
                )))
            }
            Err(h) => Err(h),
        }
    }

    async fn cached_departments(&self) -> Result<Option<Departments>, Halt> {
        let mut r = self.inner.redis.clone();
        let text: Option<String> = r.get(self.inner.keys.departments(self.tenant())).await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn store_departments(&self, d: &Departments) -> Result<(), Halt> {
        let ttl = self.inner.config.requester_fields_ttl.as_millis().max(1) as u64;
        let text = serde_json::to_string(d).unwrap_or_default();
        let mut r = self.inner.redis.clone();
        let _: () = r
            .set_options(
                self.inner.keys.departments(self.tenant()),
                text,
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(ttl)),
            )
            .await?;
        Ok(())
    }

    /// Every department, page by page, into the cache. `Ok(Err(note))`: the
    /// account will not list them (a permanent refusal): the user is
    /// written without a department, and the note says why.
    async fn list_departments(&self) -> Result<Result<Departments, String>, Halt> {
        let mut list = Vec::new();
        for page in 1..=MAX_PAGES {
            let a = match self.api.call(Call::departments_page(page)).await {
                Ok(a) => a,
                Err(h) if failure::fields_unreadable(&h) => {
                    return Ok(Err(format!(
                        "the account's departments cannot be read ({h}); department_ids not sent"
                    )))
                }
                Err(h) => return Err(h),
            };
            list.extend(client::parse_departments(&a.text).map_err(Halt::Fs)?);
            if !a.more {
                break;
            }
        }
        let d = Departments {
            fetched_at_ms: chrono::Utc::now().timestamp_millis(),
            list,
        };
        self.store_departments(&d).await?;
        Ok(Ok(d))
    }

    /// The manager's requester, or why not and what the user now waits for.
    async fn manager(
        &self,
        user_id: &str,
        reference: &str,
    ) -> Result<(Resolution, Option<String>), Halt> {
        let folded = identity::fold(reference);
        let found = self.find_manager(reference, &folded).await?;
        match &found {
            Some((m, _)) if m == user_id => {
                return Ok((
                    Resolution::Unresolved(format!(
                    "manager {reference:?} is the user themself; reporting_manager_id left empty"
                )),
                    None,
                ))
            }
            Some((_, Some(rid))) => return Ok((Resolution::Found(*rid), None)),
            Some((_, None)) => {}
            None if reference.contains('@') => {
                if let Some(rid) = self.freshservice_user(&folded).await? {
                    return Ok((Resolution::Found(rid), None));
                }
            }
            None => {}
        }
        // Wait under the reference as given and folded: whichever index it
        // matches (id, userName, email, externalId) is among the references
        // the manager wakes (`references`). Register first, then look again:
        // a manager linked between the two is found now, one linked later
        // wakes this user.
        let refs = [reference, folded.as_str()];
        self.wait_for(&refs, user_id).await?;
        let again = self.find_manager(reference, &folded).await?;
        if let Some((m, Some(rid))) = &again {
            if m != user_id {
                self.stop_waiting(&refs, user_id).await?;
                return Ok((Resolution::Found(*rid), None));
            }
        }
        let note = if again.is_some() {
            format!("manager {reference:?} has no Freshservice requester yet; reporting_manager_id is filled in when they do")
        } else {
            format!(
                "manager {reference:?} is none of this tenant's users (by id, userName, email or externalId){}; reporting_manager_id left empty until they are provisioned",
                if reference.contains('@') { " nor a Freshservice user" } else { "" }
            )
        };
        Ok((Resolution::Unresolved(note), Some(folded)))
    }

    /// The tenant's SCIM user `reference` names, and its linked requester.
    async fn find_manager(
        &self,
        reference: &str,
        folded: &str,
    ) -> Result<Option<(String, Option<u64>)>, Halt> {
        let (t, k) = (self.tenant(), &self.inner.keys);
        let mut r = self.inner.redis.clone();
        let (is_id, by_name, by_external, by_email): (
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = redis::pipe()
            .exists(k.user(t, reference))
            .hget(k.idx_username(t), folded)
            .hget(k.idx_external_id(t), reference)
            .hget(k.idx_email(t), folded)
            .query_async(&mut r)
            .await?;
        let first_email = by_email
            .and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok())
            .and_then(|ids| ids.into_iter().next());
        let manager = if is_id {
            Some(reference.to_string())
        } else {
            by_name.or(by_external).or(first_email)
        };
        match manager {
            Some(m) => {
                let rid = self.linked(&m).await?;
                Ok(Some((m, rid)))
            }
            None => Ok(None),
        }
    }

    /// The requester linked to SCIM user `id`.
    async fn linked(&self, id: &str) -> Result<Option<u64>, Halt> {
        let mut r = self.inner.redis.clone();
        Ok(r.hget(self.inner.keys.map_requester(self.tenant()), id)
            .await?)
    }

    async fn wait_for(&self, refs: &[&str], user_id: &str) -> Result<(), Halt> {
        self.waiting(refs, user_id, true).await
    }

    async fn stop_waiting(&self, refs: &[&str], user_id: &str) -> Result<(), Halt> {
        self.waiting(refs, user_id, false).await
    }

    /// Adds `user_id` to (or removes it from) the waiting sets of `refs`.
    async fn waiting(&self, refs: &[&str], user_id: &str, add: bool) -> Result<(), Halt> {
        let mut p = redis::pipe();
        for r in refs {
            let key = self.inner.keys.manager_waiters(self.tenant(), r);
            if add {
                p.sadd(key, user_id).ignore();
            } else {
                p.srem(key, user_id).ignore();
            }
        }
        let mut r = self.inner.redis.clone();
        let _: () = shared::redis_conn::query_pipe(&p, &mut r).await?;
        Ok(())
    }

    /// A Freshservice user (requester or agent) with this email, remembered
    /// for [`EMAIL_LOOKUP_TTL`] either way.
    async fn freshservice_user(&self, email: &str) -> Result<Option<u64>, Halt> {
        let key = self.inner.keys.email_lookup(self.tenant(), email);
        let mut r = self.inner.redis.clone();
        if let Some(hit) = r.get::<_, Option<String>>(&key).await? {
            return Ok(hit.parse().ok());
        }
        let a = self.api.call(Call::find_by_email(email)).await?;
        let found = client::parse_requesters(&a.text)
            .map_err(Halt::Fs)?
            .into_iter()
            .find(|u| {
                u.primary_email
                    .as_deref()
                    .is_some_and(|p| identity::fold(p) == email)
            })
            .map(|u| u.id);
        let value = found.map_or_else(|| "-".to_string(), |id| id.to_string());
        let _: () = r
            .set_options(
                &key,
                value,
                redis::SetOptions::default()
                    .with_expiration(redis::SetExpiry::PX(EMAIL_LOOKUP_TTL.as_millis() as u64)),
            )
            .await?;
        Ok(found)
    }
}

/// The references a user answers to as a manager: their SCIM id, folded
/// userName and emails, and externalId.
pub(super) fn references(id: &str, doc: &serde_json::Value) -> Vec<String> {
    let mut out = vec![id.to_string()];
    if let Some(u) = doc.get("userName").and_then(|v| v.as_str()) {
        out.push(identity::fold(u));
    }
    if let Some(x) = doc.get("externalId").and_then(|v| v.as_str()) {
        out.push(x.to_string());
    }
    for e in doc
        .get("emails")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(v) = e.get("value").and_then(|v| v.as_str()) {
            out.push(identity::fold(v));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Converges again every user waiting for the user known by `refs`, now
/// that their requester exists. Each waiting user gets a change event
/// (confirmed by the broker) before it leaves the waiting set, so a crash
/// in between wakes them twice, never zero times.
pub(super) async fn wake_waiters(
    inner: &Inner,
    tenant: &str,
    user_id: &str,
    refs: &[String],
    request_id: &str,
) -> Result<usize, Halt> {
    let keys: Vec<String> = refs
        .iter()
        .map(|r| inner.keys.manager_waiters(tenant, r))
        .collect();
    let mut p = redis::pipe();
    for k in &keys {
        p.smembers(k);
    }
    let mut r = inner.redis.clone();
    let members: Vec<Vec<String>> = shared::redis_conn::query_pipe(&p, &mut r).await?;
    let mut woken: Vec<&str> = members
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|w| *w != user_id)
        .collect();
    woken.sort_unstable();
    woken.dedup();
    if woken.is_empty() {
        return Ok(0);
    }
    for w in &woken {
        // Version 0: the event is a nudge; the waiting user's record says
        // it is worth converging again at the version it has.
        let ev = ChangeEvent::user(tenant, w, 0, request_id);
        inner
            .publisher
            .publish_change(&ev)
            .await
            .map_err(|e| Halt::Park {
                after: WAKE_RETRY,
                reason: format!("could not wake the users waiting for this manager: {e}"),
            })?;
    }
    let mut p = redis::pipe();
    for (k, m) in keys.iter().zip(&members) {
        if !m.is_empty() {
            p.srem(k, m).ignore();
        }
    }
    let _: () = shared::redis_conn::query_pipe(&p, &mut r).await?;
    tracing::info!(
        tenant,
        manager = user_id,
        woken = woken.len(),
        "manager's requester exists; converging the users waiting for it"
    );
    Ok(woken.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_answers_to_its_id_username_external_id_and_emails() {
        let doc = json!({
            "userName": "Boss.Login",
            "externalId": "00u-Okta",
            "emails": [{"value": "Boss@Example.com"}, {"value": "boss@example.com"}, {"value": "b@x.test"}]
        });
        assert_eq!(
            references("u1", &doc),
            [
                "00u-Okta",
                "b@x.test",
                "boss.login",
                "boss@example.com",
                "u1"
            ]
        );
        assert_eq!(references("u2", &json!({})), ["u2"]);
    }

    #[test]
    fn departments_match_without_case_or_compatibility_forms() {
        let d = Departments {
            fetched_at_ms: 0,
            list: vec![
                Department {
                    id: 1,
                    name: "Customer Support".into(),
                },
                Department {
                    id: 2,
                    name: "R&D".into(),
                },
            ],
        };
        assert_eq!(d.find("customer support"), Some(1));
        assert_eq!(d.find("CUSTOMER SUPPORT"), Some(1));
        assert_eq!(d.find("R&D"), Some(2));
        assert_eq!(d.find("Support"), None);
        assert!(d.age() > Duration::from_secs(3600), "fetched at the epoch");
    }
}
