//! Read-only directory endpoints: departments and locations (`docs/freshservice.md` §4) and agents
//! (`docs/freshservice.md` §8: `GET /agents?email=`, `active=`).

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

impl Account {
    /// `GET /departments`.
    pub fn list_departments(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(Vec<Value>, bool, Page), ApiError> {
        reject_unknown(pairs, &["page", "per_page"])?;
        let page = paging::parse(pairs, None, None)?;
        let all: Vec<Value> = self
            .departments
            .values()
            .cloned()
            .map(Value::Object)
            .collect();
        let (items, more) = paging::slice(all, page);
        Ok((items, more, page))
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
        reject_unknown(pairs, &["page", "per_page", "query"])?;
        let page = paging::parse(pairs, None, None)?;
        let filter = match pairs.iter().find(|(k, _)| k == "query") {
            Some((_, q)) => Some(
                query::parse(q, &|f| (f == "name").then_some(Kind::Str), &["name"]).map_err(
                    |e| ApiError::field(FieldError::invalid_value("query", &e.to_string())),
                )?,
            ),
            None => None,
        };
        let all: Vec<Value> = self
            .locations
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
