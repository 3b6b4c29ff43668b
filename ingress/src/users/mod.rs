//! The users service: what a SCIM request on `/Users` means for the store
//! and the outbox, with no HTTP in it. Handlers (`crate::http::users`)
//! parse the request, call one method here and translate the result.
//!
//! Every write keeps the ingress's promises (`docs/architecture.md` §3): it is
//! stored atomically with its outbox entry, published with a broker confirm
//! before it returns (invariant 1), and undone when the publish fails, so an
//! error leaves nothing behind. Updates are optimistic: read, compute, write
//! at the version read, start over if another write won. Reads come from
//! Redis alone (invariant 2); [`query`] plans them.

mod query;

use axum::extract::FromRef;
use serde_json::Value;
use shared::event::ResourceKind;
use tokio::time::Instant;

use crate::{
    outbox::{Outbox, OutboxError},
    scim::{self, error::ScimError, list::ListParams, user::Meta},
    state::AppState,
    store::{users::IndexFields, StoreError, StoredUser, UserStore, WriteOutcome},
};

/// Optimistic-concurrency tries for PUT/PATCH before giving up. Each round
/// lets at least one concurrent writer through, so this bounds how many
/// writers to one user can race at once.
const UPDATE_TRIES: u32 = 32;

/// Why a users operation did not happen. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("User {0} not found")]
    NotFound(String),
    /// The userName (as sent) already belongs to another user.
    #[error("a user with userName {0:?} already exists (userName is unique, case-insensitive)")]
    UserNameTaken(String),
    /// If-Match named another version than the current one.
    #[error("If-Match {given} does not match the current version {}", scim::user::etag(*.current))]
    VersionMismatch { given: String, current: u64 },
    /// The user changed between reading and deleting it.
    #[error("the user changed while deleting (now {})", scim::user::etag(*.0))]
    ChangedWhileDeleting(u64),
    /// The request's change is not valid SCIM (from the pure core).
    #[error(transparent)]
    Invalid(#[from] ScimError),
    /// Every optimistic round lost to another writer.
    #[error("too many concurrent writes to one user")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] OutboxError),
    /// The store answered something no write can answer.
    #[error("unexpected store outcome {0:?}")]
    Unexpected(WriteOutcome),
}

/// Who asked, and until when: carried into the change event and the
/// publish so a slow broker cannot hold the request past its deadline.
#[derive(Clone, Copy)]
pub struct WriteCtx<'a> {
    pub request_id: &'a str,
    pub deadline: Instant,
    /// The If-Match header, if the client sent one.
    pub if_match: Option<&'a str>,
}

/// A page of rendered users and how many matched in all.
pub struct Found {
    pub total: usize,
    pub resources: Vec<Value>,
}

/// The users service; cheap to clone (handles only), taken by handlers
/// as `State<Users>`.
#[derive(Clone)]
pub struct Users {
    store: UserStore,
    outbox: Outbox,
    scim_base: String,
}

impl FromRef<AppState> for Users {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.backend.users.clone(),
            outbox: state.backend.outbox.clone(),
            scim_base: state.backend.scim_base(),
        }
    }
}

/// The index fields a write maintains, computed from the document.
struct Index {
    user_name: String,
    external_id: Option<String>,
    emails: Vec<String>,
}

impl Index {
    fn of(doc: &Value) -> Self {
        Self {
            user_name: scim::user::user_name_key(doc),
            external_id: scim::user::external_id(doc),
            emails: scim::user::email_keys(doc),
        }
    }
    fn fields(&self) -> IndexFields<'_> {
        IndexFields {
            user_name_lower: &self.user_name,
            external_id: self.external_id.as_deref(),
            email_keys: &self.emails,
        }
    }
}

fn taken(doc: &Value) -> UserError {
    UserError::UserNameTaken(
        doc.get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}

fn check_if_match(ctx: &WriteCtx<'_>, version: u64) -> Result<(), UserError> {
    match ctx.if_match {
        Some(h) if !scim::user::if_match_ok(h, version) => Err(UserError::VersionMismatch {
            given: h.to_string(),
            current: version,
        }),
        _ => Ok(()),
    }
}

/// A short random pause between optimistic retries, so racing writers
/// spread out instead of colliding again.
pub(crate) async fn backoff(round: u32) {
    if round == 0 {
        return;
    }
    let max = 1 + round.min(10) as u64 * 2;
    tokio::time::sleep(std::time::Duration::from_millis(
        rand::random::<u64>() % max,
    ))
    .await;
}

impl Users {
    /// Base of SCIM resource locations, e.g. `https://bridge.example/scim/v2`.
    pub fn scim_base(&self) -> &str {
        &self.scim_base
    }

    /// The SCIM resource of a stored user.
    pub fn render(&self, u: &StoredUser) -> Value {
        let meta = Meta {
            created: u.created.clone(),
            last_modified: u.modified.clone(),
            version: u.version,
        };
        scim::user::render(&u.id, &u.doc, &meta, &self.scim_base)
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<StoredUser, UserError> {
        self.store
            .get(tenant, id)
            .await?
            .ok_or_else(|| UserError::NotFound(id.to_string()))
    }

    /// The users matching the list parameters, rendered, one page of them.
    pub async fn find(&self, tenant: &str, params: &ListParams) -> Result<Found, UserError> {
        query::find(self, tenant, params).await
    }

    /// Creates a user from a validated document: stored, published, then
    /// returned as written (no read-back).
    pub async fn create(
        &self,
        tenant: &str,
        doc: Value,
        ctx: WriteCtx<'_>,
    ) -> Result<StoredUser, UserError> {
        let id = uuid::Uuid::new_v4().to_string();
        let ix = Index::of(&doc);
        let (version, at) = match self.store.create(tenant, &id, &doc, &ix.fields()).await? {
            WriteOutcome::Written { version, at } => (version, at),
            WriteOutcome::UserNameTaken(_) => return Err(taken(&doc)),
            other => return Err(UserError::Unexpected(other)),
        };
        // Undo so the error leaves nothing behind and Okta's retry can
        // create the user afresh; if even that fails, the sweeper publishes.
        let undo = {
            let (store, tenant, id) = (self.store.clone(), tenant.to_string(), id.clone());
            async move {
                if let Err(re) = store.rollback_create(&tenant, &id).await {
                    tracing::error!(error = %re, user = %id, "rollback after failed publish failed; the sweeper will publish");
                }
            }
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::User,
                tenant,
                &id,
                version,
                ctx.request_id,
                ctx.deadline,
                Some(undo),
            )
            .await?;
        Ok(StoredUser {
            id,
            doc,
            version,
            created: at.clone(),
            modified: at,
        })
    }

    /// Replaces a user's document with a validated one (PUT).
    pub async fn replace(
        &self,
        tenant: &str,
        id: &str,
        doc: Value,
        ctx: WriteCtx<'_>,
    ) -> Result<StoredUser, UserError> {
        self.update(tenant, id, ctx, |_| Ok(Some(doc.clone())))
            .await
    }

    /// Applies a SCIM PatchOp body. A patch that changes nothing (Okta
    /// re-sending the same value) bumps no version and sends no event.
    pub async fn patch(
        &self,
        tenant: &str,
        id: &str,
        body: &Value,
        ctx: WriteCtx<'_>,
    ) -> Result<StoredUser, UserError> {
        self.update(tenant, id, ctx, |current| {
            let mut doc = current.doc.clone();
            scim::patch::apply_with_id(&mut doc, body, id)?;
            scim::user::validate(&doc)?;
            Ok((doc != current.doc).then_some(doc))
        })
        .await
    }

    /// Deletes a user. The delete stays even if the publish fails: it sits
    /// in the outbox and the sweeper publishes it (Okta never sends
    /// DELETE; other clients retry and get 404, the state they asked for).
    pub async fn delete(&self, tenant: &str, id: &str, ctx: WriteCtx<'_>) -> Result<(), UserError> {
        let current = self.get(tenant, id).await?;
        check_if_match(&ctx, current.version)?;
        let version = match self.store.delete(tenant, id, Some(current.version)).await? {
            WriteOutcome::Written { version, .. } => version,
            WriteOutcome::VersionMismatch(v) => return Err(UserError::ChangedWhileDeleting(v)),
            _ => return Err(UserError::NotFound(id.to_string())),
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::User,
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

    /// An optimistic update: read the user, check If-Match, let `change`
    /// compute the new document from the current one (`None`: no change),
    /// write it at the version read, and start over if another write won.
    async fn update(
        &self,
        tenant: &str,
        id: &str,
        ctx: WriteCtx<'_>,
        change: impl Fn(&StoredUser) -> Result<Option<Value>, ScimError>,
    ) -> Result<StoredUser, UserError> {
        for round in 0..UPDATE_TRIES {
            backoff(round).await;
            let current = self.get(tenant, id).await?;
            check_if_match(&ctx, current.version)?;
            let Some(doc) = change(&current)? else {
                return Ok(current);
            };
            if let Some(stored) = self.write_over(tenant, &current, doc, ctx).await? {
                return Ok(stored);
            }
        }
        Err(UserError::Contended)
    }

    /// Stores `doc` over `current` (at `current.version`), publishes, and
    /// restores `current` if the publish fails so an error changes
    /// nothing. `Ok(None)` means someone else wrote first.
    async fn write_over(
        &self,
        tenant: &str,
        current: &StoredUser,
        doc: Value,
        ctx: WriteCtx<'_>,
    ) -> Result<Option<StoredUser>, UserError> {
        let ix = Index::of(&doc);
        let (version, at) = match self
            .store
            .replace(
                tenant,
                &current.id,
                &doc,
                &ix.fields(),
                Some(current.version),
            )
            .await?
        {
            WriteOutcome::Written { version, at } => (version, at),
            WriteOutcome::UserNameTaken(_) => return Err(taken(&doc)),
            WriteOutcome::Missing => return Err(UserError::NotFound(current.id.clone())),
            WriteOutcome::VersionMismatch(_) => return Ok(None),
            other @ WriteOutcome::UnknownMember(_) => return Err(UserError::Unexpected(other)),
        };
        let undo = {
            let (store, tenant, current) =
                (self.store.clone(), tenant.to_string(), current.clone());
            async move {
                let old = Index::of(&current.doc);
                match store
                    .replace(
                        &tenant,
                        &current.id,
                        &current.doc,
                        &old.fields(),
                        Some(version),
                    )
                    .await
                {
                    Ok(WriteOutcome::Written { .. }) => {}
                    other => {
                        tracing::error!(user = %current.id, outcome = ?other, "could not restore the user after a failed publish; the sweeper will publish")
                    }
                }
            }
        };
        self.outbox
            .publish_or_undo(
                ResourceKind::User,
                tenant,
                &current.id,
                version,
                ctx.request_id,
                ctx.deadline,
                Some(undo),
            )
            .await?;
        Ok(Some(StoredUser {
            id: current.id.clone(),
            doc,
            version,
            created: current.created.clone(),
            modified: at,
        }))
    }
}
