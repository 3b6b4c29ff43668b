//! The create / adopt / link state machine of one convergence, as a pure
//! decision: from the desired state, what the bridge applied before and
//! what it has learned so far (email lookup, a refused create), [`next`]
//! says the one step to take. `run.rs` makes the calls and feeds the answers
//! back. Never a duplicate requester (`docs/architecture.md` §3, invariant 4):
//! anything not known by id is looked up by email before a create, and a
//! create answered `duplicate_value` adopts what the lookup finds.

use shared::freshservice::Requester;

use super::{
    plan::{self, Desired, Known},
    record::Applied,
};

/// The part of a requester found by email that the decision reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Found {
    pub id: u64,
    /// `None`: Freshservice did not say; taken as active.
    pub active: Option<bool>,
    pub is_agent: bool,
}

impl From<&Requester> for Found {
    fn from(r: &Requester) -> Self {
        Self {
            id: r.id,
            active: r.active,
            is_agent: r.is_agent == Some(true),
        }
    }
}

/// What this convergence has learned so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// Only the record: its link, if any, is what there is to go on.
    Start,
    /// Looked the email up; `None`: nobody has it.
    LookedUp(Option<Found>),
    /// A create was answered `duplicate_value`.
    Taken,
    /// Looked the email up after the create was answered `duplicate_value`.
    TakenLookedUp(Option<Found>),
    /// Searched for it with `query=` after that lookup found nobody.
    TakenSearched(Option<Found>),
}

/// The one step to take next.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Step {
    /// Calls on the linked requester, then record. A 404 means it was
    /// deleted by hand: unlink, forget what was applied, start again.
    Known { rid: u64, plan: Known },
    /// `GET /requesters?email=…` before deciding.
    Lookup,
    /// `GET /requesters?query="primary_email:'…'"`: the email is taken but
    /// `?email=` found nobody, and it may leave deactivated requesters out
    /// (`docs/freshservice.md` §8).
    Search,
    /// POST a new requester, link and record it.
    Create,
    /// Link a requester found by email, reactivate it if it is deactivated,
    /// PUT the whole desired body, record.
    Adopt { rid: u64, reactivate: bool },
    /// Link a requester found by email for a user who should not be active,
    /// deactivate it unless it already is, record (no snapshot).
    DeactivateFound { rid: u64, call: bool },
    /// Nobody has the email and nobody should be active: record the
    /// version with no requester, no calls.
    RecordAbsent,
    /// The email is an agent's: dead-letter.
    RefuseAgent { rid: u64 },
    /// Freshservice says the email is taken, but no one has it (another
    /// user's secondary email, or a lagging lookup): retry later.
    TakenButNotFound,
}

/// Decides the next step. `forget_on_delete`: `SCIM_DELETE_MODE=forget`.
pub(super) fn next(
    desired: &Desired,
    applied: &Applied,
    forget_on_delete: bool,
    seen: Seen,
) -> Step {
    // Without an email there is nothing to look up by: the lookup finds no one.
    let seen = match seen {
        Seen::Start | Seen::Taken if desired.email.is_none() => match looked_up(seen, None) {
            Seen::TakenLookedUp(None) => Seen::TakenSearched(None),
            s => s,
        },
        s => s,
    };
    match seen {
        Seen::Start => match applied.requester_id {
            Some(rid) => Step::Known {
                rid,
                plan: plan::plan_known(
                    desired,
                    applied.snapshot.as_ref(),
                    applied.active,
                    forget_on_delete,
                ),
            },
            // Nothing to deactivate unless a requester exists already. Look
            // even when nothing was applied: an earlier try may have created
            // one and died before linking it (kill -9 between the POST and
            // the record), and that requester must not stay active.
            None if !desired.active => Step::Lookup,
            // Applied before but no link (Redis restored, or the linked
            // requester was deleted by hand): heal by email.
            None if applied.version.is_some() => Step::Lookup,
            // An earlier create went unanswered (timeout, connection lost,
            // a worker killed mid-call): it may have committed. Look before
            // creating again, whether or not Freshservice would refuse a
            // second requester with the email (unconfirmed,
            // `docs/freshservice.md` §8): one lookup per such retry.
            None if applied.create_sent => Step::Lookup,
            // Never applied, never tried: create directly; a
            // duplicate_value answer still leads to the lookup.
            None => Step::Create,
        },
        Seen::LookedUp(found) if !desired.active => match found {
            Some(f) if f.is_agent => Step::RefuseAgent { rid: f.id },
            Some(f) => Step::DeactivateFound {
                rid: f.id,
                call: f.active != Some(false),
            },
            None => Step::RecordAbsent,
        },
        Seen::LookedUp(None) => Step::Create,
        Seen::LookedUp(Some(f)) | Seen::TakenLookedUp(Some(f)) | Seen::TakenSearched(Some(f)) => {
            adopt(f)
        }
        Seen::Taken => Step::Lookup,
        Seen::TakenLookedUp(None) => Step::Search,
        Seen::TakenSearched(None) => Step::TakenButNotFound,
    }
}

/// What a lookup answer makes of `seen`.
pub(super) fn looked_up(seen: Seen, found: Option<Found>) -> Seen {
    match seen {
        Seen::Taken | Seen::TakenLookedUp(_) | Seen::TakenSearched(_) => Seen::TakenLookedUp(found),
        Seen::Start | Seen::LookedUp(_) => Seen::LookedUp(found),
    }
}

fn adopt(f: Found) -> Step {
    if f.is_agent {
        return Step::RefuseAgent { rid: f.id };
    }
    Step::Adopt {
        rid: f.id,
        reactivate: f.active == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    /// `active`/`deleted` as in SCIM, with or without an email.
    fn desired(active: bool, deleted: bool, email: bool) -> Desired {
        let mut body = json!({"first_name": "B"});
        if email {
            body["primary_email"] = json!("b@x.test");
        }
        Desired::new(5, &json!({"active": active}), deleted, obj(body), vec![])
    }

    fn never_applied() -> Applied {
        Applied::default()
    }

    /// Applied before, link lost (or dropped after a 404).
    fn unlinked() -> Applied {
        Applied {
            version: Some(4),
            ..Applied::default()
        }
    }

    fn linked(active: Option<bool>) -> Applied {
        Applied {
            version: Some(4),
            requester_id: Some(7),
            snapshot: Some(obj(json!({"first_name": "A"}))),
            active,
            waiting_for: None,
            create_sent: false,
        }
    }

    fn found(active: Option<bool>) -> Option<Found> {
        Some(Found {
            id: 9,
            active,
            is_agent: false,
        })
    }

    fn agent() -> Option<Found> {
        Some(Found {
            id: 9,
            active: Some(true),
            is_agent: true,
        })
    }

    fn update(reactivate: bool) -> Step {
        Step::Known {
            rid: 7,
            plan: Known::Update {
                reactivate,
                changes: obj(json!({"first_name": "B", "primary_email": "b@x.test"})),
            },
        }
    }

    /// One row per branch: (name, desired, applied, forget mode, seen, step).
    #[test]
    fn every_branch() {
        let on = desired(true, false, true);
        let off = desired(false, false, true);
        let deleted = desired(true, true, true);
        let on_no_email = desired(true, false, false);
        let off_no_email = desired(false, false, false);
        let rows: Vec<(&str, &Desired, Applied, bool, Seen, Step)> = vec![
            // Linked by id.
            (
                "linked, changed: update",
                &on,
                linked(Some(true)),
                false,
                Seen::Start,
                update(false),
            ),
            (
                "linked, active unknown: taken as active",
                &on,
                linked(None),
                false,
                Seen::Start,
                update(false),
            ),
            (
                "linked, deactivated, active again: reactivate then update",
                &on,
                linked(Some(false)),
                false,
                Seen::Start,
                update(true),
            ),
            (
                "linked, nothing changed: no call, record",
                &on,
                Applied {
                    snapshot: Some(on.body.clone()),
                    ..linked(Some(true))
                },
                false,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Update {
                        reactivate: false,
                        changes: Map::new(),
                    },
                },
            ),
            (
                "linked, deactivated in SCIM: deactivate",
                &off,
                linked(Some(true)),
                false,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Deactivate { call: true },
                },
            ),
            (
                "linked, already deactivated: no call",
                &off,
                linked(Some(false)),
                false,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Deactivate { call: false },
                },
            ),
            (
                "linked, SCIM DELETE, deactivate mode: deactivate",
                &deleted,
                linked(Some(true)),
                false,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Deactivate { call: true },
                },
            ),
            (
                "linked, SCIM DELETE, forget mode: forget",
                &deleted,
                linked(Some(true)),
                true,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Forget,
                },
            ),
            (
                "linked, forget mode, merely inactive: deactivate",
                &off,
                linked(Some(true)),
                true,
                Seen::Start,
                Step::Known {
                    rid: 7,
                    plan: Known::Deactivate { call: true },
                },
            ),
            // Not linked, active.
            (
                "new user: create directly",
                &on,
                never_applied(),
                false,
                Seen::Start,
                Step::Create,
            ),
            (
                "applied before, link lost: heal by email",
                &on,
                unlinked(),
                false,
                Seen::Start,
                Step::Lookup,
            ),
            (
                "an earlier create went unanswered: look before creating again",
                &on,
                Applied {
                    create_sent: true,
                    ..never_applied()
                },
                false,
                Seen::Start,
                Step::Lookup,
            ),
            (
                "unanswered create, nobody has the email: create",
                &on,
                Applied {
                    create_sent: true,
                    ..never_applied()
                },
                false,
                Seen::LookedUp(None),
                Step::Create,
            ),
            (
                "heal, nobody has the email: create",
                &on,
                unlinked(),
                false,
                Seen::LookedUp(None),
                Step::Create,
            ),
            (
                "heal, found active: adopt",
                &on,
                unlinked(),
                false,
                Seen::LookedUp(found(Some(true))),
                Step::Adopt {
                    rid: 9,
                    reactivate: false,
                },
            ),
            (
                "heal, found, active unknown: adopt",
                &on,
                unlinked(),
                false,
                Seen::LookedUp(found(None)),
                Step::Adopt {
                    rid: 9,
                    reactivate: false,
                },
            ),
            (
                "heal, found deactivated: adopt and reactivate",
                &on,
                unlinked(),
                false,
                Seen::LookedUp(found(Some(false))),
                Step::Adopt {
                    rid: 9,
                    reactivate: true,
                },
            ),
            (
                "heal, found an agent: refuse",
                &on,
                unlinked(),
                false,
                Seen::LookedUp(agent()),
                Step::RefuseAgent { rid: 9 },
            ),
            (
                "heal, no email: create without a lookup",
                &on_no_email,
                unlinked(),
                false,
                Seen::Start,
                Step::Create,
            ),
            // A create answered duplicate_value.
            (
                "create refused as duplicate: look up",
                &on,
                never_applied(),
                false,
                Seen::Taken,
                Step::Lookup,
            ),
            (
                "duplicate, found: adopt (lost create answer)",
                &on,
                never_applied(),
                false,
                Seen::TakenLookedUp(found(Some(true))),
                Step::Adopt {
                    rid: 9,
                    reactivate: false,
                },
            ),
            (
                "duplicate, found deactivated: adopt and reactivate",
                &on,
                never_applied(),
                false,
                Seen::TakenLookedUp(found(Some(false))),
                Step::Adopt {
                    rid: 9,
                    reactivate: true,
                },
            ),
            (
                "duplicate, found an agent: refuse",
                &on,
                never_applied(),
                false,
                Seen::TakenLookedUp(agent()),
                Step::RefuseAgent { rid: 9 },
            ),
            (
                "duplicate, nobody found by email: search with query=",
                &on,
                never_applied(),
                false,
                Seen::TakenLookedUp(None),
                Step::Search,
            ),
            (
                "duplicate, the search finds a deactivated requester: reactivate it",
                &on,
                never_applied(),
                false,
                Seen::TakenSearched(found(Some(false))),
                Step::Adopt {
                    rid: 9,
                    reactivate: true,
                },
            ),
            (
                "duplicate, the search finds an agent: refuse",
                &on,
                never_applied(),
                false,
                Seen::TakenSearched(agent()),
                Step::RefuseAgent { rid: 9 },
            ),
            (
                "duplicate, nobody found either way: retry later",
                &on,
                never_applied(),
                false,
                Seen::TakenSearched(None),
                Step::TakenButNotFound,
            ),
            (
                "duplicate, no email: nobody to find",
                &on_no_email,
                never_applied(),
                false,
                Seen::Taken,
                Step::TakenButNotFound,
            ),
            // Not linked, not active.
            (
                "inactive, never applied: still look (unlinked create)",
                &off,
                never_applied(),
                false,
                Seen::Start,
                Step::Lookup,
            ),
            (
                "inactive, applied before: look",
                &off,
                unlinked(),
                false,
                Seen::Start,
                Step::Lookup,
            ),
            (
                "deleted, not linked: look",
                &deleted,
                never_applied(),
                true,
                Seen::Start,
                Step::Lookup,
            ),
            (
                "inactive, nobody has the email: record, no call",
                &off,
                never_applied(),
                false,
                Seen::LookedUp(None),
                Step::RecordAbsent,
            ),
            (
                "inactive, found active: link and deactivate",
                &off,
                never_applied(),
                false,
                Seen::LookedUp(found(Some(true))),
                Step::DeactivateFound { rid: 9, call: true },
            ),
            (
                "inactive, found, active unknown: deactivate",
                &off,
                never_applied(),
                false,
                Seen::LookedUp(found(None)),
                Step::DeactivateFound { rid: 9, call: true },
            ),
            (
                "inactive, found deactivated: link, no call",
                &off,
                never_applied(),
                false,
                Seen::LookedUp(found(Some(false))),
                Step::DeactivateFound {
                    rid: 9,
                    call: false,
                },
            ),
            (
                "inactive, found an agent: refuse",
                &off,
                never_applied(),
                false,
                Seen::LookedUp(agent()),
                Step::RefuseAgent { rid: 9 },
            ),
            (
                "deleted in forget mode, found: deactivated, not forgotten",
                &deleted,
                unlinked(),
                true,
                Seen::LookedUp(found(Some(true))),
                Step::DeactivateFound { rid: 9, call: true },
            ),
            (
                "inactive, no email: record, no lookup",
                &off_no_email,
                never_applied(),
                false,
                Seen::Start,
                Step::RecordAbsent,
            ),
        ];
        for (name, d, applied, forget, seen, want) in rows {
            assert_eq!(next(d, &applied, forget, seen), want, "{name}");
        }
    }

    #[test]
    fn lookups_remember_a_refused_create() {
        let rows = [
            (
                "first lookup",
                Seen::Start,
                found(None),
                Seen::LookedUp(found(None)),
            ),
            (
                "after a refused create",
                Seen::Taken,
                None,
                Seen::TakenLookedUp(None),
            ),
        ];
        for (name, seen, f, want) in rows {
            assert_eq!(looked_up(seen, f), want, "{name}");
        }
    }

    /// The only step that leads back to the start is a gone link, and the
    /// driver drops the link first: following the machine with every
    /// lookup answer ends in a final step within a few steps.
    #[test]
    fn every_path_ends() {
        let finals = |s: &Step| !matches!(s, Step::Lookup | Step::Create);
        for d in [
            desired(true, false, true),
            desired(false, false, true),
            desired(true, false, false),
        ] {
            for applied in [never_applied(), unlinked()] {
                for answer in [None, found(Some(true)), found(Some(false)), agent()] {
                    for create_refused in [false, true] {
                        let mut seen = Seen::Start;
                        let mut steps = 0;
                        loop {
                            steps += 1;
                            assert!(steps < 5, "{d:?} {applied:?} {answer:?}: no end");
                            match next(&d, &applied, false, seen) {
                                Step::Lookup => seen = looked_up(seen, answer),
                                Step::Create if create_refused => seen = Seen::Taken,
                                s => {
                                    assert!(finals(&s) || s == Step::Create);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
