//! The groups service: what a SCIM request on `/Groups` means for the
//! store and the outbox, with no HTTP in it (`crate::http::groups` only
//! translates). Group writes keep the users' guarantees
//! (`docs/architecture.md` §3): stored atomically with their outbox entry,
//! confirmed by the broker before the answer, undone when the publish
//! fails; optimistic, read-compute-write at the version read; reads from
//! Redis alone. A write that changes nothing (Okta resending its rename
//! with every membership change) stores and publishes nothing.

mod query;

use axum::extract::FromRef;
use serde_json::Value;
use shared::event::ResourceKind;

use crate::{
    outbox::{Outbox, OutboxError},
    scim::{
        self,
        error::ScimError,
        group::{self, GroupRequest, GroupState, MemberDelta, Members},
        list::ListParams,
        user::Meta,
    },
    state::AppState,
    store::{groups::Expect, GroupStore, StoreError, StoredGroup, WriteOutcome},
    users::WriteCtx,
};

/// Optimistic tries for PUT/PATCH before giving up (as for users).
const UPDATE_TRIES: u32 = 32;

/// Why a groups operation did not happen. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("Group {0} not found")]
    NotFound(String),
    #[error(
        "a group with displayName {0:?} already exists (displayName is unique, case-insensitive)"
    )]
    NameTaken(String),
    #[error("member {0:?} is not a user of this tenant; nothing was changed")]
    UnknownMember(String),
    #[error("If-Match {given} does not match the current version {}", scim::user::etag(*.current))]
    VersionMismatch { given: String, current: u64 },
    #[error(transparent)]
    Invalid(#[from] ScimError),
    #[error("too many concurrent writes to one group")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] OutboxError),
    #[error("unexpected store outcome {0:?}")]
    Unexpected(WriteOutcome),
}

/// A stored group with its members, when they were read.
#[derive(Clone, Debug)]
pub struct Group {
    pub stored: StoredGroup,
    pub members: Option<Members>,
}

/// A page of rendered groups and how many matched in all.
pub struct Found {
    pub total: usize,
    pub resources: Vec<Value>,
}

/// The groups service; cheap to clone, taken by handlers as `State<Groups>`.
#[derive(Clone)]
pub struct Groups {
    store: GroupStore,
    outbox: Outbox,
    scim_base: String,
}

impl FromRef<AppState> for Groups {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.backend.groups.clone(),
            outbox: state.backend.outbox.clone(),
            scim_base: state.backend.scim_base(),
        }
    }
}

fn check_if_match(ctx: &WriteCtx<'_>, version: u64) -> Result<(), GroupError> {
    match ctx.if_match {
        Some(h) if !scim::user::if_match_ok(h, version) => Err(GroupError::VersionMismatch {
            given: h.to_string(),
            current: version,
        }),
        _ => Ok(()),
    }
}

impl Groups {
    pub fn scim_base(&self) -> &str {
        &self.scim_base
    }

    /// The SCIM resource of a group (members left out when not read).
    pub fn render(&self, g: &Group) -> Value {
        let s = &g.stored;
        let meta = Meta {
            created: s.created.clone(),
            last_modified: s.modified.clone(),
            version: s.version,
        };
        group::render(&s.id, &s.doc, g.members.as_ref(), &meta, &self.scim_base)
    }

    /// One group; its members only if `with_members`.
    pub async fn get(
        &self,
        tenant: &str,
        id: &str,
        with_members: bool,
    ) -> Result<Group, GroupError> {
        let stored = self
            .store
            .get(tenant, id)
            .await?
            .ok_or_else(|| GroupError::NotFound(id.to_string()))?;
        let members = match with_members {
            true => Some(self.store.members(tenant, id).await?),
            false => None,
        };
        Ok(Group { stored, members })
    }

    /// The groups matching the list parameters, rendered, one page.
    pub async fn find(&self, tenant: &str, params: &ListParams) -> Result<Found, GroupError> {
        query::find(self, tenant, params).await
    }

    /// Each user's `groups` value, for a page of rendered users.
    pub async fn attach_to_users(
        &self,
        tenant: &str,
        users: &mut [Value],
    ) -> Result<(), GroupError> {
        let ids: Vec<&str> = users
            .iter()
            .filter_map(|u| u.get("id").and_then(Value::as_str))
            .collect();
        let of = self.store.groups_of(tenant, &ids).await?;
        for u in users.iter_mut() {
            let Some(id) = u.get("id").and_then(Value::as_str) else {
                continue;
            };
            let value = group::user_groups(
                of.get(id).map(Vec::as_slice).unwrap_or_default(),
                &self.scim_base,
            );
            if let Value::Object(m) = u {
                m.insert("groups".into(), value);
            }
        }
        Ok(())
    }

    /// Creates a group (POST): stored, published, returned as written.
    pub async fn create(
        &self,
        tenant: &str,
        req: GroupRequest,
        ctx: WriteCtx<'_>,
    ) -> Result<Group, GroupError> {
        let id = uuid::Uuid::new_v4().to_string();
        let members = req.members.unwrap_or_default();
        let next = group::replace(
            &GroupState {
                doc: req.doc.clone(),
                members: Members::new(),
            },
            GroupRequest {
                doc: req.doc,
                members: Some(members),
            },
        )?;
        let empty = Members::new();
        let delta = MemberDelta::between(&empty, &next.members);
        let joining: Vec<&String> = delta.joining(&empty).collect();
        let (version, at) = self
            .written(
                self.store
                    .write(tenant, &id, &next.doc, &delta, &joining, Expect::Create)
                    .await?,
                &next,
                &id,
            )?
            .ok_or(GroupError::Unexpected(WriteOutcome::Missing))?;
        let undo = {
            let (store, tenant, id) = (self.store.clone(), tenant.to_string(), id.clone());
            async move {
                if let Err(e) = store.rollback_create(&tenant, &id).await {
                    tracing::error!(error = %e, group = %id, "rollback after failed publish failed; the sweeper will publish");
                }
            }
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::Group,
                tenant,
                &id,
                version,
                ctx.request_id,
                ctx.deadline,
                Some(undo),
            )
            .await?;
        Ok(Group {
            stored: StoredGroup {
                id,
                doc: next.doc,
                version,
                created: at.clone(),
                modified: at,
            },
            members: Some(next.members),
        })
    }

    /// PUT: the body's attributes; its members, or the current ones when it
    /// names none (`scim/group.rs`).
    pub async fn replace(
        &self,
        tenant: &str,
        id: &str,
        req: GroupRequest,
        ctx: WriteCtx<'_>,
    ) -> Result<Group, GroupError> {
        self.update(tenant, id, ctx, |current| {
            group::replace(current, req.clone())
        })
        .await
    }

    /// PATCH (Okta's and Entra's shapes, `scim/group.rs`).
    pub async fn patch(
        &self,
        tenant: &str,
        id: &str,
        body: &Value,
        ctx: WriteCtx<'_>,
    ) -> Result<Group, GroupError> {
        self.update(tenant, id, ctx, |current| {
            group::apply_patch(current, body, id)
        })
        .await
    }

    /// DELETE. Like a user's, the delete stays even if the publish fails:
    /// the sweeper publishes it, and a retry gets 404, the state asked for.
    pub async fn delete(
        &self,
        tenant: &str,
        id: &str,
        ctx: WriteCtx<'_>,
    ) -> Result<(), GroupError> {
        let current = self.get(tenant, id, false).await?;
        check_if_match(&ctx, current.stored.version)?;
        let version = match self
            .store
            .delete(tenant, id, current.stored.version)
            .await?
        {
            WriteOutcome::Written { version, .. } => version,
            WriteOutcome::VersionMismatch(_) => return Err(GroupError::Contended),
            _ => return Err(GroupError::NotFound(id.to_string())),
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::Group,
                tenant,
                id,
                version,
                ctx.request_id,
                ctx.deadline,
                None::<std::future::Ready<()>>,
            )
            .await?;
        Ok(())
    }

    /// Read, let `change` compute the next state, write it at the version
    /// read (nothing when it equals the current state), start over if
    /// another write won.
    async fn update(
        &self,
        tenant: &str,
        id: &str,
        ctx: WriteCtx<'_>,
        change: impl Fn(&GroupState) -> Result<GroupState, ScimError>,
    ) -> Result<Group, GroupError> {
        for round in 0..UPDATE_TRIES {
            crate::users::backoff(round).await;
            let current = self.get(tenant, id, true).await?;
            check_if_match(&ctx, current.stored.version)?;
            let state = GroupState {
                doc: current.stored.doc.clone(),
                members: current.members.clone().unwrap_or_default(),
            };
            let next = change(&state)?;
            if next == state {
                return Ok(current);
            }
            if let Some(done) = self
                .write_over(tenant, &current.stored, &state, next, ctx)
                .await?
            {
                return Ok(done);
            }
        }
        Err(GroupError::Contended)
    }

    /// Stores `next` over `current` (at its version), publishes, and puts
    /// `current` back if the publish fails. `Ok(None)`: someone else wrote
    /// first.
    async fn write_over(
        &self,
        tenant: &str,
        stored: &StoredGroup,
        current: &GroupState,
        next: GroupState,
        ctx: WriteCtx<'_>,
    ) -> Result<Option<Group>, GroupError> {
        let id = &stored.id;
        let delta = MemberDelta::between(&current.members, &next.members);
        let joining: Vec<&String> = delta.joining(&current.members).collect();
        let outcome = self
            .store
            .write(
                tenant,
                id,
                &next.doc,
                &delta,
                &joining,
                Expect::Version(stored.version),
            )
            .await?;
        let Some((version, at)) = self.written(outcome, &next, id)? else {
            return Ok(None);
        };
        let undo = {
            let (store, tenant, id) = (self.store.clone(), tenant.to_string(), id.clone());
            let back = MemberDelta::between(&next.members, &current.members);
            let returning: Vec<String> = back.joining(&next.members).cloned().collect();
            let doc = current.doc.clone();
            async move {
                let returning: Vec<&String> = returning.iter().collect();
                match store
                    .write(
                        &tenant,
                        &id,
                        &doc,
                        &back,
                        &returning,
                        Expect::Version(version),
                    )
                    .await
                {
                    Ok(WriteOutcome::Written { .. }) => {}
                    other => {
                        tracing::error!(group = %id, outcome = ?other, "could not restore the group after a failed publish; the sweeper will publish")
                    }
                }
            }
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::Group,
                tenant,
                id,
                version,
                ctx.request_id,
                ctx.deadline,
                Some(undo),
            )
            .await?;
        Ok(Some(Group {
            stored: StoredGroup {
                id: id.clone(),
                doc: next.doc,
                version,
                created: stored.created.clone(),
                modified: at,
            },
            members: Some(next.members),
        }))
    }

    /// The version and time of a write, `None` when another write won.
    fn written(
        &self,
        outcome: WriteOutcome,
        next: &GroupState,
        id: &str,
    ) -> Result<Option<(u64, String)>, GroupError> {
        match outcome {
            WriteOutcome::Written { version, at } => Ok(Some((version, at))),
            WriteOutcome::UserNameTaken(_) => {
                Err(GroupError::NameTaken(next.doc.display_name.clone()))
            }
            WriteOutcome::UnknownMember(m) => Err(GroupError::UnknownMember(m)),
            WriteOutcome::Missing => Err(GroupError::NotFound(id.to_string())),
            WriteOutcome::VersionMismatch(_) => Ok(None),
        }
    }
}
