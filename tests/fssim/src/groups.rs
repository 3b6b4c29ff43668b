//! Requester groups (`docs/freshservice.md` §4): CRUD on manual groups, members added one per call
//! (200) and removed (204), members listed as `{id, first_name, last_name, email}`.
//! `rule_based` groups are listed and viewable but take no changes through the API.

use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::accounts::{Account, Group};
use crate::errors::{ApiError, FieldError};
use crate::paging::{self, Page};

fn rule_based_error() -> ApiError {
    ApiError::field(FieldError::invalid_value(
        "type",
        "Only manual requester groups can be updated or have members added or removed",
    ))
}

impl Account {
    fn group(&self, id: u64) -> Result<&Group, ApiError> {
        self.groups.get(&id).ok_or(ApiError::NotFound)
    }

    fn group_body(
        &self,
        body: &Value,
        create: bool,
        except: Option<u64>,
    ) -> Result<(Option<String>, Option<Option<String>>), ApiError> {
        let obj: &Map<String, Value> = body.as_object().ok_or_else(ApiError::invalid_json)?;
        let mut errors = Vec::new();
        let mut name = None;
        let mut description = None;
        for (k, v) in obj {
            match k.as_str() {
                "name" => match v.as_str() {
                    Some(s) if !s.trim().is_empty() => name = Some(s.to_string()),
                    Some(_) => {
                        errors.push(FieldError::invalid_value("name", "It should not be blank"))
                    }
                    None => errors.push(FieldError::datatype("name", "String")),
                },
                "description" => match v {
                    Value::Null => description = Some(None),
                    Value::String(s) => description = Some(Some(s.clone())),
                    _ => errors.push(FieldError::datatype("description", "String")),
                },
                other => errors.push(FieldError::invalid_field(other)),
            }
        }
        if create && name.is_none() && !obj.contains_key("name") {
            errors.push(FieldError::missing("name", "String"));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        if let Some(n) = &name {
            if self
                .groups
                .values()
                .any(|g| Some(g.id) != except && g.name.eq_ignore_ascii_case(n))
            {
                return Err(ApiError::Validation {
                    status: self.duplicate_status,
                    errors: vec![FieldError::duplicate("name")],
                });
            }
        }
        Ok((name, description))
    }

    /// `POST /requester_groups` (always manual).
    pub fn create_group(&mut self, body: &Value) -> Result<Value, ApiError> {
        let (name, description) = self.group_body(body, true, None)?;
        let now = Utc::now();
        let id = self.alloc_id();
        let g = Group {
            id,
            name: name.unwrap_or_default(),
            description: description.flatten(),
            kind: "manual".into(),
            members: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let out = g.to_json();
        self.groups.insert(id, g);
        Ok(out)
    }

    /// `GET /requester_groups/{id}`.
    pub fn view_group(&self, id: u64) -> Result<Value, ApiError> {
        Ok(self.group(id)?.to_json())
    }

    /// `GET /requester_groups` (both types).
    pub fn list_groups(&self, page: Page) -> (Vec<Value>, bool) {
        let all: Vec<Value> = self.groups.values().map(Group::to_json).collect();
        paging::slice(all, page)
    }

    /// `PUT /requester_groups/{id}` (manual only).
    pub fn update_group(&mut self, id: u64, body: &Value) -> Result<Value, ApiError> {
        if self.group(id)?.kind != "manual" {
            return Err(rule_based_error());
        }
        let (name, description) = self.group_body(body, false, Some(id))?;
        let g = self.groups.get_mut(&id).ok_or(ApiError::NotFound)?;
        if let Some(n) = name {
            g.name = n;
        }
        if let Some(d) = description {
            g.description = d;
        }
        g.updated_at = Utc::now();
        Ok(g.to_json())
    }

    /// `DELETE /requester_groups/{id}`: disbands the group; members stay.
    pub fn delete_group(&mut self, id: u64) -> Result<(), ApiError> {
        self.groups
            .remove(&id)
            .map(|_| ())
            .ok_or(ApiError::NotFound)
    }

    /// `POST /requester_groups/{id}/members/{requester_id}`: 200 with no body. Already a
    /// member → `duplicate_value` at the account's duplicate status (`docs/freshservice.md`
    /// §4: open; 400 or 409). A deactivated requester cannot be added (400).
    pub fn add_member(&mut self, id: u64, requester_id: u64) -> Result<(), ApiError> {
        if self.group(id)?.kind != "manual" {
            return Err(rule_based_error());
        }
        let r = self.requester(requester_id)?;
        if !r.active {
            return Err(ApiError::field(FieldError::invalid_value(
                "requester_id",
                "The requester is deactivated",
            )));
        }
        if self.group(id)?.members.contains(&requester_id) {
            return Err(ApiError::Validation {
                status: self.duplicate_status,
                errors: vec![FieldError::duplicate("requester_id")],
            });
        }
        let g = self.groups.get_mut(&id).ok_or(ApiError::NotFound)?;
        g.members.push(requester_id);
        Ok(())
    }

    /// `DELETE /requester_groups/{id}/members/{requester_id}`: 204; 404 if not a member.
    pub fn remove_member(&mut self, id: u64, requester_id: u64) -> Result<(), ApiError> {
        if self.group(id)?.kind != "manual" {
            return Err(rule_based_error());
        }
        let g = self.groups.get_mut(&id).ok_or(ApiError::NotFound)?;
        let before = g.members.len();
        g.members.retain(|m| *m != requester_id);
        if g.members.len() == before {
            return Err(ApiError::NotFound);
        }
        Ok(())
    }

    /// `GET /requester_groups/{id}/members`.
    pub fn list_members(&self, id: u64, page: Page) -> Result<(Vec<Value>, bool), ApiError> {
        let g = self.group(id)?;
        let all: Vec<Value> = g
            .members
            .iter()
            .filter_map(|m| self.users.get(m))
            .map(|u| {
                json!({"id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.primary_email})
            })
            .collect();
        Ok(paging::slice(all, page))
    }
}
