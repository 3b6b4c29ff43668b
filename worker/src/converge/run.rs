//! One convergence in progress, lease held: follows the steps
//! `machine::next` decides and makes their Freshservice calls and fenced
//! Redis writes. Links a requester the moment its id is known, so a crash
//! before the record cannot lead to a second create (`docs/architecture.md`
//! §3, invariant 4).

use redis::AsyncCommands;
use serde_json::{Map, Value};
use shared::{
    event::ChangeEvent,
    freshservice::{client, Call, FsError, Requester},
};

use super::{
    api::{Halt, TenantApi},
    failure::{self, Outcome},
    group,
    machine::{self, Found, Seen, Step},
    plan::{self, Desired, Known},
    record::{Applied, Written},
    resolve, Inner,
};
use crate::lease::Lease;

/// What a create came to.
enum Created {
    Done(Outcome),
    /// Freshservice answered `duplicate_value` (someone has the email,
    /// possibly our own earlier create whose answer was lost): the machine
    /// looks it up next. Carries Freshservice's answer.
    Taken(String),
}

pub(super) struct Run<'a> {
    pub inner: &'a Inner,
    pub api: TenantApi<'a>,
    pub ev: &'a ChangeEvent,
    pub lease: &'a Lease,
    pub desired: Desired,
    pub applied: Applied,
    /// A SCIM DELETE forgets (the tenant's choice, else `SCIM_DELETE_MODE`).
    pub forget_on_delete: bool,
}

impl Run<'_> {
    fn tenant(&self) -> &str {
        &self.ev.tenant
    }

    pub async fn apply(mut self) -> Result<Outcome, Halt> {
        let forget = self.forget_on_delete;
        let mut seen = Seen::Start;
        // The requester the last lookup found, for what a step needs beyond
        // the decision (its email, for an agent's dead letter).
        let mut last_found: Option<Requester> = None;
        // Freshservice's `duplicate_value` answer, for the dead end's reason.
        let mut taken = String::new();
        loop {
            match machine::next(&self.desired, &self.applied, forget, seen) {
                Step::Known { rid, plan } => match self.apply_known(rid, plan).await {
                    Err(h) if failure::is_gone(&h) => {
                        // Deleted in Freshservice by hand: forget the link and
                        // find (or make) the requester again by email.
                        tracing::warn!(tenant = self.tenant(), user = %self.ev.id, rid, "mapped requester is gone; relinking by email");
                        self.inner
                            .sync
                            .unlink(self.tenant(), &self.ev.id, rid)
                            .await?;
                        self.applied.requester_id = None;
                        self.applied.snapshot = None;
                        self.applied.active = None;
                    }
                    other => return other,
                },
                Step::Lookup => {
                    last_found = self.lookup().await?;
                    seen = machine::looked_up(seen, last_found.as_ref().map(Found::from));
                }
                Step::Search => {
                    last_found = self.search().await?;
                    seen = Seen::TakenSearched(last_found.as_ref().map(Found::from));
                }
                Step::Create => match self.create().await? {
                    Created::Done(outcome) => return Ok(outcome),
                    Created::Taken(body) => {
                        taken = body;
                        seen = Seen::Taken;
                    }
                },
                Step::Adopt { rid, reactivate } => {
                    let flag = last_found.as_ref().and_then(|f| f.sees_department_tickets);
                    return self.adopt(rid, reactivate, flag).await;
                }
                Step::DeactivateFound { rid, call } => {
                    self.link(rid).await?;
                    if call {
                        self.api.call(Call::deactivate(rid)).await?;
                    }
                    return self.finish(Some(rid), None, false).await;
                }
                Step::RecordAbsent => return self.finish(None, None, false).await,
                Step::RefuseAgent { rid } => {
                    let email = last_found
                        .as_ref()
                        .and_then(|f| f.primary_email.as_deref())
                        .or(self.desired.email.as_deref())
                        .unwrap_or("?");
                    return Err(failure::agent_email(rid, email));
                }
                Step::TakenButNotFound => {
                    return Err(Halt::Fs(FsError::unreadable(format!(
                        "Freshservice says the email is taken but no user with it was found (it may be another user's secondary email, or the lookup lags): {}",
                        taken
                    ))))
                }
            }
        }
    }

    async fn apply_known(&self, rid: u64, plan: Known) -> Result<Outcome, Halt> {
        match plan {
            Known::Forget => {
                match self.api.call(Call::forget(rid)).await {
                    Ok(_) => {}
                    Err(h) if failure::is_gone(&h) => {}
                    Err(h) => return Err(h),
                }
                self.finish(None, None, false).await
            }
            Known::Deactivate { call } => {
                if call {
                    match self.api.call(Call::deactivate(rid)).await {
                        Ok(_) => {}
                        Err(h) if failure::is_gone(&h) => {}
                        Err(h) => return Err(h),
                    }
                }
                self.finish(Some(rid), self.applied.snapshot.as_ref(), false)
                    .await
            }
            Known::Update {
                reactivate,
                changes,
            } => {
                // What Freshservice holds now, when an answer on the way
                // told us (the flag below needs it).
                let mut current: Option<Requester> = None;
                if reactivate {
                    match self.api.call(Call::reactivate(rid)).await {
                        Ok(a) => current = client::parse_requester(&a.text).ok(),
                        // A retry after a reactivate whose record was lost
                        // reactivates an active requester: if it is active,
                        // the goal is met.
                        Err(Halt::Fs(e)) if failure::maybe_already_active(&e) => {
                            let now = self.api.call(Call::get(rid)).await?;
                            let req = client::parse_requester(&now.text).map_err(Halt::Fs)?;
                            if req.active != Some(true) {
                                return Err(Halt::Fs(e));
                            }
                            current = Some(req);
                        }
                        Err(h) => return Err(h),
                    }
                }
                if !changes.is_empty() {
                    let mut changes = changes;
                    let flag = match current.and_then(|c| c.sees_department_tickets) {
                        Some(f) => Some(f),
                        None => self.current_flag(rid).await?,
                    };
                    keep_flag(&mut changes, flag);
                    self.api.call(Call::update(rid, changes)).await?;
                }
                self.finish(Some(rid), Some(&self.desired.body), true).await
            }
        }
    }

    /// POST, linking and recording what it made.
    async fn create(&self) -> Result<Created, Halt> {
        // A new requester has nothing to clear: no nulls on create.
        let mut body = plan::diff(None, &self.desired.body, &[]);
        let with_external = self.external_id_allowed().await?;
        if with_external {
            body.insert("external_id".into(), Value::String(self.ev.id.clone()));
        }
        // Noted before the POST: if its answer never arrives, the next try
        // looks the email up instead of creating again (`machine.rs`).
        if self
            .inner
            .sync
            .create_sent(self.lease, self.tenant(), &self.ev.id)
            .await?
            == Written::Fenced
        {
            return Err(Halt::LeaseLost);
        }
        let created = match self.api.call(Call::create(body.clone())).await {
            Err(h) if failure::external_id_refused(&h, with_external) => {
                self.reject_external_id().await?;
                body.remove("external_id");
                self.api.call(Call::create(body)).await
            }
            other => other,
        };
        if let Err(h) = &created {
            if failure::create_answered(h) {
                self.inner
                    .sync
                    .create_answered(self.tenant(), &self.ev.id)
                    .await?;
            }
        }
        match created {
            Ok(a) => {
                let req = client::parse_requester(&a.text).map_err(Halt::Fs)?;
                self.link(req.id).await?;
                self.finish(Some(req.id), Some(&self.desired.body), true)
                    .await
                    .map(Created::Done)
            }
            Err(Halt::Fs(FsError::DuplicateEmail { body })) => Ok(Created::Taken(body)),
            Err(h) => Err(h),
        }
    }

    /// Links an existing Freshservice user found by email: reactivate if
    /// needed, then PUT the whole desired body.
    /// `flag`: the requester's `can_see_all_tickets_from_associated_departments`
    /// as the lookup found it.
    async fn adopt(&self, rid: u64, reactivate: bool, flag: Option<bool>) -> Result<Outcome, Halt> {
        self.link(rid).await?;
        let mut flag = flag;
        if reactivate {
            let a = self.api.call(Call::reactivate(rid)).await?;
            if let Some(f) = client::parse_requester(&a.text)
                .ok()
                .and_then(|r| r.sees_department_tickets)
            {
                flag = Some(f);
            }
        }
        if flag.is_none() {
            flag = self.current_flag(rid).await?;
        }
        let mut body = self.desired.body.clone();
        keep_flag(&mut body, flag);
        let with_external = self.external_id_allowed().await?;
        if with_external {
            body.insert("external_id".into(), Value::String(self.ev.id.clone()));
        }
        match self.api.call(Call::update(rid, body.clone())).await {
            Err(h) if failure::external_id_refused(&h, with_external) => {
                self.reject_external_id().await?;
                body.remove("external_id");
                self.api.call(Call::update(rid, body)).await?;
            }
            other => {
                other?;
            }
        }
        tracing::info!(tenant = self.tenant(), user = %self.ev.id, requester_id = rid, "linked an existing requester");
        self.finish(Some(rid), Some(&self.desired.body), true).await
    }

    /// `GET /requesters?email=…&include_agents=true`, preferring the user
    /// whose primary email matches. No email, no call: nobody to find.
    async fn lookup(&self) -> Result<Option<Requester>, Halt> {
        let Some(email) = self.desired.email.as_deref() else {
            return Ok(None);
        };
        let a = self.api.call(Call::find_by_email(email)).await?;
        let list = client::parse_requesters(&a.text).map_err(Halt::Fs)?;
        let exact = list.iter().position(|r| {
            r.primary_email
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(email))
        });
        Ok(match exact {
            Some(i) => list.into_iter().nth(i),
            None => list.into_iter().next(),
        })
    }

    /// The same with `query=` (see `Step::Search`); only the exact primary
    /// email counts.
    async fn search(&self) -> Result<Option<Requester>, Halt> {
        let Some(email) = self.desired.email.as_deref() else {
            return Ok(None);
        };
        let Some(call) = Call::search_by_email(email) else {
            return Ok(None);
        };
        let a = self.api.call(call).await?;
        let list = client::parse_requesters(&a.text).map_err(Halt::Fs)?;
        Ok(list.into_iter().find(|r| {
            r.primary_email
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(email))
        }))
    }

    async fn link(&self, rid: u64) -> Result<(), Halt> {
        match self
            .inner
            .sync
            .link(self.lease, self.tenant(), &self.ev.id, rid)
            .await?
        {
            Written::Fenced => Err(Halt::LeaseLost),
            _ => Ok(()),
        }
    }

    async fn finish(
        &self,
        rid: Option<u64>,
        snapshot: Option<&Map<String, Value>>,
        active: bool,
    ) -> Result<Outcome, Halt> {
        let w = self
            .inner
            .sync
            .record(
                self.lease,
                self.tenant(),
                &self.ev.id,
                self.desired.version,
                rid,
                snapshot,
                active,
                &self.desired.warnings,
                self.desired.waiting_for.as_deref(),
            )
            .await?;
        match w {
            Written::Fenced => Err(Halt::LeaseLost),
            Written::Stale => Ok(Outcome::Skipped("a newer version was recorded meanwhile")),
            Written::Ok => {
                // Whether its requester can be a group member changed: its
                // groups look again (`group/wake.rs`).
                let before = (self.applied.requester_id, self.applied.active);
                if group::membership_changed(before, (rid, active)) {
                    group::wake_groups(self.inner, self.tenant(), &self.ev.id, &self.ev.request_id)
                        .await?;
                }
                if rid.is_some() {
                    resolve::wake_waiters(
                        self.inner,
                        self.tenant(),
                        &self.ev.id,
                        &self.desired.references,
                        &self.ev.request_id,
                    )
                    .await?;
                }
                tracing::info!(
                    tenant = self.tenant(),
                    user = %self.ev.id,
                    requester_id = ?rid,
                    version = self.desired.version,
                    active,
                    request_id = %self.ev.request_id,
                    "user converged"
                );
                Ok(Outcome::Applied)
            }
        }
    }

    /// The requester's `can_see_all_tickets_from_associated_departments` as
    /// Freshservice holds it now: one `GET`, the price of never clearing an
    /// admin's tick (a PUT without it resets it, `docs/freshservice.md`
    /// §2.2, and an admin may tick it at any time). `None`: not said.
    async fn current_flag(&self, rid: u64) -> Result<Option<bool>, Halt> {
        let a = self.api.call(Call::get(rid)).await?;
        Ok(client::parse_requester(&a.text)
            .map_err(Halt::Fs)?
            .sees_department_tickets)
    }

    async fn external_id_allowed(&self) -> Result<bool, Halt> {
        let mut r = self.inner.redis.clone();
        let flag: Option<String> = r
            .hget(self.inner.keys.account_flags(self.tenant()), "external_id")
            .await?;
        Ok(flag.as_deref() != Some("rejected"))
    }

    async fn reject_external_id(&self) -> Result<(), Halt> {
        tracing::warn!(
            tenant = self.tenant(),
            "the account refuses external_id; no longer sending it"
        );
        let mut r = self.inner.redis.clone();
        let _: () = r
            .hset(
                self.inner.keys.account_flags(self.tenant()),
                "external_id",
                "rejected",
            )
            .await?;
        Ok(())
    }
}

/// Puts the departments flag Freshservice holds into a PUT body, so the
/// PUT leaves it as it is. Unknown: left out (a PUT without it is what
/// Freshservice would have done to it anyway).
fn keep_flag(body: &mut Map<String, Value>, flag: Option<bool>) {
    if let Some(f) = flag {
        body.insert(
            shared::mapping::requester::CAN_SEE_DEPARTMENT_TICKETS.into(),
            Value::Bool(f),
        );
    }
}
