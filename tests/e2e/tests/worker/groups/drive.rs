//! Driving a SCIM group the way each client does (`docs/identity-providers.md`):
//! Okta's Push Groups with PATCH, an Okta App Integration Wizard app with
//! full PUTs, Entra's capitalised PATCH ops — or, for the `contract_*`
//! tests, by writing the records the ingress writes
//! (`shared/src/records/group.rs`: the group hash, its members, the users'
//! reverse index) and publishing the group's event, so the worker is tested
//! against that contract on its own.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use e2e::Stack;
use redis::AsyncCommands;
use serde_json::{json, Value};
use shared::{event::ChangeEvent, identity, keys::Keys, records::group::GroupRecord};

use super::super::support::{publish, redis};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Who sends the group's changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// Okta Push Groups: PATCH for every change after the create.
    OktaPatch,
    /// An Okta App Integration Wizard app: `PUT /Groups/{id}` with the
    /// displayName and the full member list.
    OktaPut,
    /// Microsoft Entra ID: capitalised ops, members removed by value.
    Entra,
    /// No SCIM: the ingress's records written directly.
    Contract,
}

/// A member as clients send it: the user's SCIM id and a display string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub display: String,
}

/// One client's view of the groups it pushed (what a PUT resends).
pub struct Groups<'a> {
    pub stack: &'a Stack,
    pub client: Client,
    known: Mutex<HashMap<String, (String, Vec<Member>)>>,
}

fn values(client: Client, members: &[Member]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| match client {
                Client::Entra => json!({ "value": m.id }),
                _ => json!({ "value": m.id, "display": m.display }),
            })
            .collect(),
    )
}

impl<'a> Groups<'a> {
    pub fn new(stack: &'a Stack, client: Client) -> Self {
        Self {
            stack,
            client,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn known(&self, id: &str) -> (String, Vec<Member>) {
        self.known
            .lock()
            .expect("not poisoned")
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn remember(&self, id: &str, name: &str, members: Vec<Member>) {
        self.known
            .lock()
            .expect("not poisoned")
            .insert(id.to_string(), (name.to_string(), members));
    }

    /// Creates the group; returns its SCIM id.
    pub async fn create(&self, name: &str, members: &[Member]) -> anyhow::Result<String> {
        let id = match self.client {
            Client::Contract => {
                let id = uuid::Uuid::new_v4().to_string();
                write(self.stack, &id, Some(name), members).await?;
                id
            }
            client => {
                let mut body = json!({
                    "schemas": [GROUP],
                    "displayName": name,
                    "members": values(client, members),
                });
                if client == Client::Entra {
                    body["externalId"] = json!(uuid::Uuid::new_v4().to_string());
                }
                let (status, b) = self.stack.scim("POST", "/Groups", Some(body)).await?;
                anyhow::ensure!(status == 201, "SCIM group create answered {status}: {b}");
                b["id"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("no id in {b}"))?
                    .to_string()
            }
        };
        self.remember(&id, name, members.to_vec());
        Ok(id)
    }

    pub async fn rename(&self, id: &str, name: &str) -> anyhow::Result<()> {
        let (_, members) = self.known(id);
        let op = match self.client {
            Client::OktaPatch => json!({"op": "replace", "value": {"id": id, "displayName": name}}),
            Client::Entra => json!({"op": "Replace", "path": "displayName", "value": name}),
            _ => Value::Null,
        };
        self.change(id, name, members, op).await
    }

    pub async fn add(&self, id: &str, add: &[Member]) -> anyhow::Result<()> {
        let (name, mut members) = self.known(id);
        members.extend(add.iter().cloned());
        let op = match self.client {
            Client::OktaPatch => {
                json!({"op": "add", "path": "members", "value": values(self.client, add)})
            }
            Client::Entra => {
                json!({"op": "Add", "path": "members", "value": values(self.client, add)})
            }
            _ => Value::Null,
        };
        self.change(id, &name, members, op).await
    }

    pub async fn remove(&self, id: &str, gone: &Member) -> anyhow::Result<()> {
        let (name, mut members) = self.known(id);
        members.retain(|m| m.id != gone.id);
        let op = match self.client {
            Client::OktaPatch => json!({
                "op": "remove",
                "path": format!("members[value eq \"{}\"]", gone.id),
            }),
            Client::Entra => json!({
                "op": "Remove",
                "path": "members",
                "value": [{"value": gone.id}],
            }),
            _ => Value::Null,
        };
        self.change(id, &name, members, op).await
    }

    /// Okta's "Push now": the whole member list.
    pub async fn replace(&self, id: &str, all: &[Member]) -> anyhow::Result<()> {
        let (name, _) = self.known(id);
        let op = match self.client {
            Client::OktaPatch => {
                json!({"op": "replace", "path": "members", "value": values(self.client, all)})
            }
            Client::Entra => {
                json!({"op": "Replace", "path": "members", "value": values(self.client, all)})
            }
            _ => Value::Null,
        };
        self.change(id, &name, all.to_vec(), op).await
    }

    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        match self.client {
            Client::Contract => write(self.stack, id, None, &[]).await?,
            _ => {
                let (status, b) = self
                    .stack
                    .scim("DELETE", &format!("/Groups/{id}"), None)
                    .await?;
                anyhow::ensure!(status == 204, "SCIM group delete answered {status}: {b}");
            }
        }
        Ok(())
    }

    /// Sends one change: the PATCH `op`, or for a PUT client the whole
    /// group, or for the contract the records.
    async fn change(
        &self,
        id: &str,
        name: &str,
        members: Vec<Member>,
        op: Value,
    ) -> anyhow::Result<()> {
        match self.client {
            Client::Contract => write(self.stack, id, Some(name), &members).await?,
            Client::OktaPut => {
                let body = json!({
                    "schemas": [GROUP],
                    "id": id,
                    "displayName": name,
                    "members": values(self.client, &members),
                });
                let (status, b) = self
                    .stack
                    .scim("PUT", &format!("/Groups/{id}"), Some(body))
                    .await?;
                anyhow::ensure!(status == 200, "SCIM group replace answered {status}: {b}");
            }
            Client::OktaPatch | Client::Entra => {
                let body = json!({"schemas": [PATCH_OP], "Operations": [op]});
                let (status, b) = self
                    .stack
                    .scim("PATCH", &format!("/Groups/{id}"), Some(body))
                    .await?;
                anyhow::ensure!(
                    status == 200 || status == 204,
                    "SCIM group patch answered {status}: {b}"
                );
            }
        }
        self.remember(id, name, members);
        Ok(())
    }
}

/// Writes a group as the ingress does (`name` `None`: deleted) and
/// publishes its event: the next version, the document, the members hash,
/// the users' reverse index.
async fn write(
    stack: &Stack,
    id: &str,
    name: Option<&str>,
    members: &[Member],
) -> anyhow::Result<()> {
    let keys = Keys::new(stack.prefix.clone());
    let t = &stack.tenant_id;
    let mut r = redis().await?;
    let h: HashMap<String, String> = r.hgetall(keys.group(t, id)).await?;
    let old = GroupRecord::decode(&h)?;
    let now = "2024-05-01T10:00:00.000Z".to_string();
    let version = old.as_ref().map_or(1, |o| o.version + 1);
    let record = GroupRecord {
        doc: json!({ "displayName": name.unwrap_or_else(|| old.as_ref().map_or("", |o| o.display_name())) }),
        version,
        created: old.as_ref().map_or(now.clone(), |o| o.created.clone()),
        modified: now,
        seq: None,
        name_key: name.map(identity::fold),
        external_id: None,
        deleted: name.is_none(),
    };
    let before: Vec<String> = r.hkeys(keys.group_members(t, id)).await?;
    let after: BTreeMap<&str, &str> = members
        .iter()
        .map(|m| (m.id.as_str(), m.display.as_str()))
        .collect();
    let mut p = redis::pipe();
    p.del(keys.group(t, id)).ignore();
    let fields: Vec<(&str, String)> = record.encode();
    p.hset_multiple(keys.group(t, id), &fields).ignore();
    p.del(keys.group_members(t, id)).ignore();
    if !after.is_empty() {
        let pairs: Vec<(&str, &str)> = after.iter().map(|(k, v)| (*k, *v)).collect();
        p.hset_multiple(keys.group_members(t, id), &pairs).ignore();
    }
    let _: () = shared::redis_conn::query_pipe(&p, &mut r).await?;
    // The reverse index: this group leaves the users no longer in it and
    // joins the ones now in it.
    let mut users: Vec<&str> = before.iter().map(String::as_str).collect();
    users.extend(after.keys());
    users.sort_unstable();
    users.dedup();
    for u in users {
        let listed: Option<String> = r.hget(keys.user_groups(t), u).await?;
        let mut groups: Vec<String> = listed
            .and_then(|l| serde_json::from_str(&l).ok())
            .unwrap_or_default();
        groups.retain(|g| g != id);
        if after.contains_key(u) {
            groups.push(id.to_string());
        }
        let _: () = if groups.is_empty() {
            r.hdel(keys.user_groups(t), u).await?
        } else {
            r.hset(keys.user_groups(t), u, serde_json::to_string(&groups)?)
                .await?
        };
    }
    publish(stack, &ChangeEvent::group(t, id, version, "contract")).await
}
