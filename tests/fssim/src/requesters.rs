//! Requesters (`docs/freshservice.md` §2): the object as the API renders it, and the operations
//! create, update (with the `can_see_all_tickets_from_associated_departments` reset
//! quirk), deactivate, reactivate, forget, convert to agent, list and `query=` filter.

use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::accounts::{ts, Account, ExternalIdMode, User};
use crate::errors::{ApiError, FieldError};
use crate::fields::FieldType;
use crate::paging::{self, Page};
use crate::query::{self, Kind, Val};
use crate::validation::{apply_body, check_complete, check_duplicates, Mode};

/// Query parameters `GET /requesters` accepts (`docs/freshservice.md` §2.1).
const LIST_PARAMS: &[&str] = &[
    "email",
    "mobile_phone_number",
    "work_phone_number",
    "include_agents",
    "page",
    "per_page",
    "query",
];

/// Fields that `~[…]:'prefix'` may use (`docs/freshservice.md` §2.1).
const PREFIX_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "name",
    "primary_email",
    "mobile_phone_number",
    "work_phone_number",
];

/// One page of a list.
#[derive(Debug)]
pub struct Listing {
    pub items: Vec<Value>,
    pub has_next: bool,
    pub page: Page,
}

fn as_object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(ApiError::invalid_json)
}

impl Account {
    fn custom_values(&self, u: &User) -> Value {
        let m: Map<String, Value> = self
            .custom_fields
            .iter()
            .map(|f| {
                let v = u.custom_fields.get(&f.spec.name).cloned();
                (f.spec.name.clone(), v.unwrap_or(Value::Null))
            })
            .collect();
        Value::Object(m)
    }

    /// The requester object (`docs/freshservice.md` §2.2): every field present, blanks as `null`.
    pub fn requester_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "job_title": u.job_title,
            "primary_email": u.primary_email,
            "secondary_emails": u.secondary_emails,
            "work_phone_number": u.work_phone_number,
            "mobile_phone_number": u.mobile_phone_number,
            "department_ids": u.department_ids,
            "can_see_all_tickets_from_associated_departments": u.can_see_all_tickets_from_associated_departments,
            "can_see_all_changes_from_associated_departments": u.can_see_all_changes_from_associated_departments,
            "reporting_manager_id": u.reporting_manager_id,
            "address": u.address,
            "time_zone": u.time_zone,
            "time_format": u.time_format,
            "language": u.language,
            "location_id": u.location_id,
            "background_information": u.background_information,
            "custom_fields": self.custom_values(u),
            "active": u.active,
            "has_logged_in": u.has_logged_in,
            "is_agent": u.is_agent,
            "vip_user": u.vip_user,
            "external_id": u.external_id,
            "created_at": ts(&u.created_at),
            "updated_at": ts(&u.updated_at),
        })
    }

    /// The agent object (`/agents`, convert_to_agent): `email` instead of `primary_email`.
    pub fn agent_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "occasional": u.occasional,
            "job_title": u.job_title,
            "email": u.primary_email,
            "work_phone_number": u.work_phone_number,
            "mobile_phone_number": u.mobile_phone_number,
            "department_ids": u.department_ids,
            "can_see_all_tickets_from_associated_departments": u.can_see_all_tickets_from_associated_departments,
            "reporting_manager_id": u.reporting_manager_id,
            "address": u.address,
            "time_zone": u.time_zone,
            "time_format": u.time_format,
            "language": u.language,
            "location_id": u.location_id,
            "background_information": u.background_information,
            "scoreboard_level_id": null,
            "member_of": [],
            "observer_of": [],
            "roles": [{"role_id": 1, "assignment_scope": "entire_helpdesk", "groups": []}],
            "last_login_at": null,
            "last_active_at": null,
            "custom_fields": self.custom_values(u),
            "has_logged_in": u.has_logged_in,
            "active": u.active,
            "vip_user": u.vip_user,
            "created_at": ts(&u.created_at),
            "updated_at": ts(&u.updated_at),
        })
    }

    /// Refuses a new or changed user: validation errors first (400), then
    /// emails someone else already has (`duplicate_value`).
    fn admit(&self, user: &User, errors: Vec<FieldError>) -> Result<(), ApiError> {
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let dups = if self.unconfirmed.email_unique {
            check_duplicates(self, user)
        } else {
            Vec::new()
        };
        if !dups.is_empty() {
            return Err(self.duplicate_error(dups));
        }
        Ok(())
    }

    fn duplicate_error(&self, errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation {
            status: self.duplicate_status,
            errors,
        }
    }

    fn finish_new_user(&mut self, mut user: User) -> u64 {
        for f in &self.custom_fields {
            user.custom_fields
                .entry(f.spec.name.clone())
                .or_insert(Value::Null);
        }
        let id = user.id;
        self.reserve_id(id);
        self.users.insert(id, user);
        id
    }

    /// Refuses `external_id` when the account does not take it
    /// ([`crate::accounts::ExternalIdMode::Refused`]).
    fn check_external_id(&self, body: &Map<String, Value>) -> Result<(), ApiError> {
        if self.unconfirmed.external_id == ExternalIdMode::Refused
            && body.contains_key("external_id")
        {
            return Err(ApiError::validation(vec![FieldError::invalid_field(
                "external_id",
            )]));
        }
        Ok(())
    }

    /// Whether a requester's latest create or change is old enough for an index lagging
    /// `lag_ms` to show it.
    fn indexed(u: &User, lag_ms: u64, now: chrono::DateTime<Utc>) -> bool {
        lag_ms == 0 || (now - u.updated_at).num_milliseconds() >= lag_ms as i64
    }

    /// `POST /requesters`.
    pub fn create_requester(&mut self, body: &Value) -> Result<Value, ApiError> {
        let body = as_object(body)?;
        self.check_external_id(body)?;
        let now = Utc::now();
        let mut user = User::blank(self.next_id, &self.default_time_zone, now);
        let mut errors = apply_body(self, &mut user, body, Mode::Create);
        errors.extend(check_complete(self, &user, body));
        self.admit(&user, errors)?;
        let id = self.finish_new_user(user);
        Ok(self.requester_json(&self.users[&id]))
    }

    /// Inserts a requester or agent directly (admin API, seed): the same validation, plus
    /// `active`/`has_logged_in`/`vip_user` and, for agents, `email`/`occasional`.
    pub fn admin_create_user(&mut self, body: &Value, agent: bool) -> Result<Value, ApiError> {
        let body = as_object(body)?;
        let now = Utc::now();
        let mut user = User::blank(self.next_id, &self.default_time_zone, now);
        user.is_agent = agent;
        let mut errors = apply_body(self, &mut user, body, Mode::Admin);
        errors.extend(check_complete(self, &user, body));
        if agent && user.primary_email.is_none() {
            errors.push(FieldError::missing("email", "String"));
        }
        self.admit(&user, errors)?;
        let id = self.finish_new_user(user);
        let u = &self.users[&id];
        Ok(if agent {
            self.agent_json(u)
        } else {
            self.requester_json(u)
        })
    }

    /// `PUT /requesters/{id}`: partial update returning the full object. Quirk
    /// (`docs/freshservice.md` §2.2): `can_see_all_tickets_from_associated_departments` becomes false unless the
    /// payload sets it to true.
    pub fn update_requester(&mut self, id: u64, body: &Value) -> Result<Value, ApiError> {
        let body = as_object(body)?;
        let mut user = self.requester(id)?.clone();
        self.check_external_id(body)?;
        user.can_see_all_tickets_from_associated_departments = false;
        let mut errors = apply_body(self, &mut user, body, Mode::Update);
        errors.extend(check_complete(self, &user, body));
        self.admit(&user, errors)?;
        user.updated_at = Utc::now();
        self.users.insert(id, user);
        Ok(self.requester_json(&self.users[&id]))
    }

    fn remove_from_groups(&mut self, id: u64) {
        for g in self.groups.values_mut() {
            g.members.retain(|m| *m != id);
        }
    }

    /// `DELETE /requesters/{id}`: deactivates and removes from all requester groups
    /// (`docs/freshservice.md` §2.1 notes, S10). An already deactivated requester is 404.
    pub fn deactivate_requester(&mut self, id: u64) -> Result<(), ApiError> {
        if !self.requester(id)?.active {
            return Err(ApiError::NotFound);
        }
        let u = self.users.get_mut(&id).ok_or(ApiError::NotFound)?;
        u.active = false;
        u.updated_at = Utc::now();
        self.remove_from_groups(id);
        Ok(())
    }

    /// `PUT /requesters/{id}/reactivate`.
    pub fn reactivate_requester(&mut self, id: u64) -> Result<Value, ApiError> {
        if let (true, Some(status)) = (self.requester(id)?.active, self.reactivate_active_status) {
            return Err(ApiError::Validation {
                status,
                errors: vec![FieldError::new(
                    "id",
                    "invalid_value",
                    &["Requester is already active"],
                )],
            });
        }
        let u = self.users.get_mut(&id).ok_or(ApiError::NotFound)?;
        u.active = true;
        u.updated_at = Utc::now();
        Ok(self.requester_json(&self.users[&id]))
    }

    /// `DELETE /requesters/{id}/forget`: the requester is gone for good.
    pub fn forget_requester(&mut self, id: u64) -> Result<(), ApiError> {
        self.requester(id)?;
        self.users.remove(&id);
        self.remove_from_groups(id);
        Ok(())
    }

    /// `PUT /requesters/{id}/convert_to_agent`: becomes an occasional agent.
    pub fn convert_to_agent(&mut self, id: u64) -> Result<Value, ApiError> {
        self.requester(id)?;
        let u = self.users.get_mut(&id).ok_or(ApiError::NotFound)?;
        u.is_agent = true;
        u.occasional = true;
        u.updated_at = Utc::now();
        Ok(self.agent_json(&self.users[&id]))
    }

    fn query_kind(&self, f: &str) -> Option<Kind> {
        Some(match f {
            "first_name"
            | "last_name"
            | "name"
            | "job_title"
            | "primary_email"
            | "work_phone_number"
            | "mobile_phone_number"
            | "time_zone"
            | "language" => Kind::Str,
            "department_id" => Kind::NumList,
            "reporting_manager_id" | "location_id" => Kind::Num,
            "created_at" | "updated_at" => Kind::Date,
            _ => {
                let cf = self.custom_field(f).filter(|c| c.spec.kind.queryable())?;
                match cf.spec.kind {
                    FieldType::CustomNumber => Kind::Num,
                    FieldType::CustomDate => Kind::Date,
                    _ => Kind::Str,
                }
            }
        })
    }

    fn query_value(&self, u: &User, f: &str) -> Val {
        let s = |x: &Option<String>| Val::Str(x.clone());
        match f {
            "first_name" => Val::Str(Some(u.first_name.clone())),
            "last_name" => s(&u.last_name),
            "name" => Val::Str(Some(u.name())),
            "job_title" => s(&u.job_title),
            "primary_email" => s(&u.primary_email),
            "work_phone_number" => s(&u.work_phone_number),
            "mobile_phone_number" => s(&u.mobile_phone_number),
            "time_zone" => Val::Str(Some(u.time_zone.clone())),
            "language" => Val::Str(Some(u.language.clone())),
            "department_id" => Val::Nums(u.department_ids.iter().map(|x| *x as i64).collect()),
            "reporting_manager_id" => Val::Num(u.reporting_manager_id.map(|x| x as i64)),
            "location_id" => Val::Num(u.location_id.map(|x| x as i64)),
            "created_at" => Val::Date(Some(u.created_at)),
            "updated_at" => Val::Date(Some(u.updated_at)),
            _ => {
                let v = u.custom_fields.get(f).cloned().unwrap_or(Value::Null);
                match self.custom_field(f).map(|c| c.spec.kind) {
                    Some(FieldType::CustomNumber) => Val::Num(v.as_i64()),
                    Some(FieldType::CustomDate) => Val::Date(
                        v.as_str()
                            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|d| d.and_utc()),
                    ),
                    _ => Val::Str(v.as_str().map(str::to_string)),
                }
            }
        }
    }

    /// `GET /requesters` with its filters, or with `query=` (fixed 30 per page, page ≤ 40,
    /// newest first). The search index lags by the account's `search_lag_ms`, an email
    /// lookup by `email_lookup_lag_ms` (both 0 by default); an email lookup leaves
    /// deactivated requesters out when `email_lookup_includes_deactivated` is false.
    pub fn list_requesters(&self, pairs: &[(String, String)]) -> Result<Listing, ApiError> {
        let mut errors = Vec::new();
        for (k, _) in pairs {
            if !LIST_PARAMS.contains(&k.as_str()) {
                errors.push(FieldError::invalid_field(k));
            }
        }
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let include_agents = match get("include_agents") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.push(FieldError::datatype("include_agents", "Boolean"));
                false
            }
        };
        let query = get("query");
        if query.is_some() {
            for f in ["email", "mobile_phone_number", "work_phone_number"] {
                if get(f).is_some() {
                    errors.push(FieldError::invalid_field(f));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let visible = |u: &&User| include_agents || !u.is_agent;
        let now = Utc::now();
        if let Some(q) = query {
            let page = paging::parse(pairs, Some(40), Some(30))?;
            let expr = query::parse(q, &|f| self.query_kind(f), PREFIX_FIELDS)
                .map_err(|e| ApiError::field(FieldError::invalid_value("query", &e.to_string())))?;
            let mut hits: Vec<&User> = self
                .users
                .values()
                .filter(visible)
                .filter(|u| Self::indexed(u, self.unconfirmed.search_lag_ms, now))
                .filter(|u| query::eval(&expr, &|f| self.query_value(u, f)))
                .collect();
            hits.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            let (items, has_next) = paging::slice(hits, page);
            return Ok(Listing {
                items: items.into_iter().map(|u| self.requester_json(u)).collect(),
                has_next,
                page,
            });
        }
        let page = paging::parse(pairs, None, None)?;
        let email = get("email").map(str::to_lowercase);
        let mobile = get("mobile_phone_number");
        let work = get("work_phone_number");
        let mut hits: Vec<&User> = self
            .users
            .values()
            .filter(visible)
            .filter(|u| {
                // The unconfirmed readings of an email lookup (§8, §2.1).
                email.is_none()
                    || ((u.active || self.unconfirmed.email_lookup_includes_deactivated)
                        && Self::indexed(u, self.unconfirmed.email_lookup_lag_ms, now))
            })
            .filter(|u| {
                email.as_ref().is_none_or(|e| {
                    u.primary_email.as_ref().map(|p| p.to_lowercase()).as_ref() == Some(e)
                })
            })
            .filter(|u| mobile.is_none_or(|m| u.mobile_phone_number.as_deref() == Some(m)))
            .filter(|u| work.is_none_or(|w| u.work_phone_number.as_deref() == Some(w)))
            .collect();
        hits.sort_by(|a, b| {
            a.first_name
                .to_lowercase()
                .cmp(&b.first_name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let (items, has_next) = paging::slice(hits, page);
        Ok(Listing {
            items: items.into_iter().map(|u| self.requester_json(u)).collect(),
            has_next,
            page,
        })
    }
}
