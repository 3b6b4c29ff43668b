//! Directory endpoints: departments (listed, filtered by name, created) and
//! locations (`docs/freshservice.md` §4), and agents (`docs/freshservice.md`
//! §8: `GET /agents?email=`, `active=`).

use serde_json::Value;

use crate::accounts::Account;
use crate::errors::{ApiError, FieldError};
use crate::paging::{self, Page};
use crate::query::{self, Kind, Val};

fn reject_unknown(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = pairs
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, _)| FieldError::invalid_field(k))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// One page of `entries`, filtered by `query="name:'X'"` when given. The
/// name compares without case, as Freshservice's text filters do for
/// requesters; for departments and locations that is **open**.
fn by_name(
    pairs: &[(String, String)],
    entries: &std::collections::BTreeMap<u64, serde_json::Map<String, Value>>,
) -> Result<(Vec<Value>, bool, Page), ApiError> {
    reject_unknown(pairs, &["page", "per_page", "query"])?;
    let page = paging::parse(pairs, None, None)?;
    let filter = match pairs.iter().find(|(k, _)| k == "query") {
        Some((_, q)) => Some(
            query::parse(q, &|f| (f == "name").then_some(Kind::Str), &["name"])
                .map_err(|e| ApiError::field(FieldError::invalid_value("query", &e.to_string())))?,
        ),
        None => None,
    };
    let all: Vec<Value> = entries
        .values()
        .filter(|l| {
            filter.as_ref().is_none_or(|e| {
                query::eval(e, &|_| {
                    Val::Str(l.get("name").and_then(Value::as_str).map(str::to_string))
                })
            })
        })
        .cloned()
        .map(Value::Object)
        .collect();
    let (items, more) = paging::slice(all, page);
    Ok((items, more, page))
}

impl Account {
    /// `GET /departments`, optionally with `query="name:'X'"`.
    pub fn list_departments(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(Vec<Value>, bool, Page), ApiError> {
        let (items, more, page) = by_name(pairs, &self.departments)?;
        Ok((items, more, page))
    }

    /// `POST /departments`: `name` (mandatory, unique without case) and
    /// `description`; anything else is `invalid_field`. A taken name is
    /// `duplicate_value` at the account's duplicate status (400 or 409:
    /// which one Freshservice answers is open, `docs/freshservice.md` §4).
    pub fn create_department(&mut self, body: &Value) -> Result<Value, ApiError> {
        let obj = body.as_object().ok_or_else(ApiError::invalid_json)?;
        let mut errors: Vec<FieldError> = obj
            .keys()
            .filter(|k| !matches!(k.as_str(), "name" | "description"))
            .map(|k| FieldError::invalid_field(k))
            .collect();
        let name = match obj.get("name") {
            None => {
                errors.push(FieldError::missing("name", "String"));
                None
            }
            Some(Value::String(n)) if !n.trim().is_empty() => Some(n.trim().to_string()),
            Some(Value::String(_)) => {
                errors.push(FieldError::invalid_value("name", "It should not be blank"));
                None
            }
            Some(_) => {
                errors.push(FieldError::datatype("name", "String"));
                None
            }
        };
        if !obj
            .get("description")
            .is_none_or(|d| d.is_string() || d.is_null())
        {
            errors.push(FieldError::datatype("description", "String"));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let name = name.unwrap_or_default();
        let taken = self.departments.values().any(|d| {
            d.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if taken {
            return Err(ApiError::Validation {
                status: self.duplicate_status,
                errors: vec![FieldError::duplicate("name")],
            });
        }
        let mut seed = obj.clone();
        seed.insert("name".into(), name.into());
        self.add_department(&Value::Object(seed))
    }

    /// `GET /departments/{id}`.
    pub fn view_department(&self, id: u64) -> Result<Value, ApiError> {
        self.departments
            .get(&id)
            .cloned()
            .map(Value::Object)
            .ok_or(ApiError::NotFound)
    }

    /// `GET /locations`, optionally with `query="name:'X'"`.
    pub fn list_locations(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(Vec<Value>, bool, Page), ApiError> {
        by_name(pairs, &self.locations)
    }

    /// `GET /locations/{id}`.
    pub fn view_location(&self, id: u64) -> Result<Value, ApiError> {
        self.locations
            .get(&id)
            .cloned()
            .map(Value::Object)
            .ok_or(ApiError::NotFound)
    }

    /// `GET /agents?email=&active=&state=`.
    pub fn list_agents(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(Vec<Value>, bool, Page), ApiError> {
        reject_unknown(pairs, &["email", "active", "state", "page", "per_page"])?;
        let page = paging::parse(pairs, None, None)?;
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let active = match get("active") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::field(FieldError::datatype("active", "Boolean"))),
        };
        let occasional = match get("state") {
            None => None,
            Some("fulltime") => Some(false),
            Some("occasional") => Some(true),
            Some(_) => return Err(ApiError::field(FieldError::not_a_choice("state"))),
        };
        let email = get("email").map(str::to_lowercase);
        let all: Vec<Value> = self
            .users
            .values()
            .filter(|u| u.is_agent)
            .filter(|u| active.is_none_or(|a| u.active == a))
            .filter(|u| occasional.is_none_or(|o| u.occasional == o))
            .filter(|u| {
                email.as_ref().is_none_or(|e| {
                    u.primary_email.as_ref().map(|p| p.to_lowercase()).as_ref() == Some(e)
                })
            })
            .map(|u| self.agent_json(u))
            .collect();
        let (items, more) = paging::slice(all, page);
        Ok((items, more, page))
    }

    /// `GET /agents/{id}`.
    pub fn view_agent(&self, id: u64) -> Result<Value, ApiError> {
        self.users
            .get(&id)
            .filter(|u| u.is_agent)
            .map(|u| self.agent_json(u))
            .ok_or(ApiError::NotFound)
    }
}
