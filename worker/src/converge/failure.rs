//! Classifying failures (`docs/architecture.md` §3, invariant 6): what the
//! consumer must do with each way a convergence can stop (retry, park,
//! dead-letter, pause the tenant), and which Freshservice answers a step may
//! take as "already done". Pure: the side effects are the caller's.

use std::time::Duration;

use shared::{
    event::DeadClass,
    freshservice::FsError,
    tenant::{TenantError, TenantState},
};

use super::api::Halt;

/// What the consumer should do with the event after handling it.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Freshservice now matches the desired version.
    Applied,
    /// Nothing to do (older than what was applied, or user gone).
    Skipped(&'static str),
    /// Not a failure: wait at least `after` (budget, pause, busy user,
    /// rejected credentials), then handle the same event again.
    Park { after: Duration, reason: String },
    /// A failure worth another try (after at least `after`).
    Retry { after: Duration, reason: String },
    /// Give up: dead-letter with the reason.
    Dead { class: DeadClass, reason: String },
}

impl Outcome {
    /// The `outcome` label of `bridge_worker_events_total`. An event
    /// skipped because its change (or a newer one) is already applied was
    /// coalesced into another event's convergence; a retry whose tries are
    /// spent is dead-lettered by the consumer, which labels it so itself.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Skipped(r) if COALESCED.iter().any(|c| r.starts_with(c)) => "coalesced",
            Outcome::Skipped(_) => "skipped",
            Outcome::Park { .. } => "parked",
            Outcome::Retry { .. } => "retried",
            Outcome::Dead { .. } => "dead_lettered",
        }
    }
}

/// The skip reasons that mean another event's convergence covered this one.
const COALESCED: [&str; 2] = ["already applied", "a newer version was recorded"];

/// How long a busy user's event waits before it looks again.
pub(super) const BUSY_WAIT: Duration = Duration::from_secs(1);

/// How long the event of a held tenant (credentials rejected, or paused by
/// an operator) waits before it returns to the tenant's queue. Short on
/// purpose: the workers stop consuming a held tenant's queue within a
/// tenant scan (`worker/src/consume.rs`), so the event then waits there,
/// unconsumed, and flows within a scan of the tenant becoming active again.
pub(super) const HELD_WAIT: Duration = Duration::from_secs(5);

/// What a halt comes to: the outcome, and for rejected credentials the
/// reason to pause the tenant with before answering it.
#[derive(Debug, PartialEq)]
pub(super) struct Settled {
    pub outcome: Outcome,
    pub pause_tenant: Option<String>,
}

impl From<Outcome> for Settled {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            pause_tenant: None,
        }
    }
}

/// Turns a halt into what the consumer must do with the event.
pub(super) fn settle(halt: Halt) -> Settled {
    match halt {
        Halt::Park { after, reason } => Outcome::Park { after, reason }.into(),
        Halt::LeaseLost => Outcome::Park {
            after: BUSY_WAIT,
            reason: "lost the user's lease to another worker".into(),
        }
        .into(),
        Halt::Redis(e) => Outcome::Retry {
            after: Duration::ZERO,
            reason: format!("state store unavailable: {e}"),
        }
        .into(),
        Halt::Dead { class, reason } => Outcome::Dead { class, reason }.into(),
        Halt::Fs(e) => settle_fs(e),
    }
}

fn settle_fs(e: FsError) -> Settled {
    match e {
        FsError::Credentials { status, body } => {
            let reason = format!("Freshservice answered {status}: {body}");
            Settled {
                outcome: Outcome::Park {
                    after: HELD_WAIT,
                    reason: format!("tenant paused: {reason}"),
                },
                pause_tenant: Some(reason),
            }
        }
        FsError::RateLimited { retry_after } => Outcome::Park {
            after: retry_after,
            reason: "Freshservice answered 429".into(),
        }
        .into(),
        e @ FsError::Retryable { .. } => Outcome::Retry {
            after: Duration::ZERO,
            reason: e.to_string(),
        }
        .into(),
        FsError::Permanent { status, body } => Outcome::Dead {
            class: DeadClass::Permanent,
            reason: format!("Freshservice refused the change ({status}): {body}"),
        }
        .into(),
        e @ FsError::Redirected { .. } => Outcome::Dead {
            class: DeadClass::Permanent,
            reason: e.to_string(),
        }
        .into(),
        FsError::DuplicateEmail { body } => Outcome::Dead {
            class: DeadClass::Permanent,
            reason: format!("the email is already used by another Freshservice user: {body}"),
        }
        .into(),
        FsError::NotFound => Outcome::Retry {
            after: Duration::ZERO,
            reason: "Freshservice answered 404 for the requester".into(),
        }
        .into(),
    }
}

/// The outcome for an event of a held tenant, delivered before the worker
/// stopped consuming its queue: back to the queue (after [`HELD_WAIT`]),
/// where it waits for the tenant to be active again.
pub(super) fn tenant_held(state: &TenantState, state_reason: Option<&str>) -> Outcome {
    let reason = match state {
        TenantState::Paused => format!(
            "tenant paused by an operator ({}); `ingress tenant resume` resumes it",
            state_reason.unwrap_or("no reason given")
        ),
        _ => format!(
            "tenant paused: Freshservice rejected its API key ({}); replace the API key to resume",
            state_reason.unwrap_or("no reason recorded")
        ),
    };
    Outcome::Park {
        after: HELD_WAIT,
        reason,
    }
}

/// A tenant registry error: the store being down is worth a retry, any
/// other error (bad record, undecryptable key) will not mend itself.
pub(super) fn tenant_err(e: TenantError) -> Halt {
    match e {
        TenantError::Redis(e) => Halt::Redis(e),
        other => Halt::Dead {
            class: DeadClass::Tenant,
            reason: other.to_string(),
        },
    }
}

/// The requester is gone (404): for a deactivate or forget the goal is met;
/// for a linked requester it means "deleted by hand, relink by email".
pub(super) fn is_gone(h: &Halt) -> bool {
    matches!(h, Halt::Fs(FsError::NotFound))
}

/// The account's requester fields cannot be read (404 or another 4xx): the
/// mapping falls back to the documented defaults rather than stopping.
pub(super) fn fields_unreadable(h: &Halt) -> bool {
    matches!(h, Halt::Fs(FsError::NotFound | FsError::Permanent { .. }))
}

/// A refused reactivate that may only mean "already active": what
/// Freshservice answers for reactivating an active requester is
/// undocumented, so the caller reads the requester back before giving up.
pub(super) fn maybe_already_active(e: &FsError) -> bool {
    matches!(
        e,
        FsError::Permanent { .. } | FsError::DuplicateEmail { .. }
    )
}

/// The account refuses `external_id` (and it was sent): send the change again
/// without it, and stop sending it to this account.
pub(super) fn external_id_refused(h: &Halt, sent_external: bool) -> bool {
    matches!(h, Halt::Fs(e) if sent_external && e.is_invalid_field("external_id"))
}

/// A create that stopped with this halt certainly made nothing: it was
/// answered with a refusal or a failure status, or never sent (budget,
/// pause). Not so for no answer at all, which may hide a committed create.
pub(super) fn create_answered(h: &Halt) -> bool {
    match h {
        Halt::Fs(e) => !e.is_ambiguous(),
        Halt::Park { .. } => true,
        Halt::Dead { .. } | Halt::LeaseLost | Halt::Redis(_) => false,
    }
}

/// The user's email belongs to a Freshservice agent: the bridge only manages
/// requesters, so the change is dead-lettered.
pub(super) fn agent_email(requester_id: u64, email: &str) -> Halt {
    Halt::Dead {
        class: DeadClass::AgentEmail,
        reason: format!(
            "email belongs to an agent: {email} is Freshservice agent {requester_id}; the bridge only manages requesters"
        ),
    }
}

#[cfg(test)]
mod tests {
    use shared::freshservice::error::Transient;

    use super::*;

    fn redis_err() -> redis::RedisError {
        redis::RedisError::from((redis::ErrorKind::Io, "connection refused"))
    }

    const INVALID_EXTERNAL_ID: &str = r#"{"description":"Validation failed","errors":[{"field":"external_id","message":"Invalid field","code":"invalid_field"}]}"#;

    /// Every way a convergence stops, and exactly what the consumer is told.
    #[test]
    fn every_halt_settles_to_its_outcome() {
        let secs = Duration::from_secs;
        let retry = |reason: &str| {
            Settled::from(Outcome::Retry {
                after: Duration::ZERO,
                reason: reason.into(),
            })
        };
        let dead = |class: DeadClass, reason: &str| {
            Settled::from(Outcome::Dead {
                class,
                reason: reason.into(),
            })
        };
        let rows: Vec<(&str, Halt, Settled)> = vec![
            (
                "budget park passes through",
                Halt::Park {
                    after: secs(7),
                    reason: "budget".into(),
                },
                Outcome::Park {
                    after: secs(7),
                    reason: "budget".into(),
                }
                .into(),
            ),
            (
                "lost lease waits like a busy user",
                Halt::LeaseLost,
                Outcome::Park {
                    after: BUSY_WAIT,
                    reason: "lost the user's lease to another worker".into(),
                }
                .into(),
            ),
            (
                "redis down retries at once",
                Halt::Redis(redis_err()),
                retry(&format!("state store unavailable: {}", redis_err())),
            ),
            (
                "dead passes through",
                Halt::Dead {
                    class: DeadClass::Mapping,
                    reason: "bad".into(),
                },
                dead(DeadClass::Mapping, "bad"),
            ),
            (
                "401 parks the event and pauses the tenant",
                Halt::Fs(FsError::Credentials {
                    status: 401,
                    body: "nope".into(),
                }),
                Settled {
                    outcome: Outcome::Park {
                        after: HELD_WAIT,
                        reason: "tenant paused: Freshservice answered 401: nope".into(),
                    },
                    pause_tenant: Some("Freshservice answered 401: nope".into()),
                },
            ),
            (
                "403 likewise",
                Halt::Fs(FsError::Credentials {
                    status: 403,
                    body: "no rights".into(),
                }),
                Settled {
                    outcome: Outcome::Park {
                        after: HELD_WAIT,
                        reason: "tenant paused: Freshservice answered 403: no rights".into(),
                    },
                    pause_tenant: Some("Freshservice answered 403: no rights".into()),
                },
            ),
            (
                "429 parks for Retry-After",
                Halt::Fs(FsError::RateLimited {
                    retry_after: secs(30),
                }),
                Outcome::Park {
                    after: secs(30),
                    reason: "Freshservice answered 429".into(),
                }
                .into(),
            ),
            (
                "5xx retries",
                Halt::Fs(FsError::Retryable {
                    cause: Transient::Status(503),
                    detail: "503".into(),
                }),
                retry("Freshservice temporarily failed: 503"),
            ),
            (
                "timeout retries",
                Halt::Fs(FsError::Retryable {
                    cause: Transient::Timeout,
                    detail: "timed out".into(),
                }),
                retry("Freshservice temporarily failed: timed out"),
            ),
            (
                "other 4xx dead-letters with Freshservice's text",
                Halt::Fs(FsError::Permanent {
                    status: 400,
                    body: "bad phone".into(),
                }),
                dead(
                    DeadClass::Permanent,
                    "Freshservice refused the change (400): bad phone",
                ),
            ),
            (
                "redirect dead-letters, never followed",
                Halt::Fs(FsError::Redirected {
                    status: 301,
                    location: "https://x".into(),
                }),
                dead(
                    DeadClass::Permanent,
                    &FsError::Redirected {
                        status: 301,
                        location: "https://x".into(),
                    }
                    .to_string(),
                ),
            ),
            (
                "duplicate email dead-letters",
                Halt::Fs(FsError::DuplicateEmail {
                    body: "taken".into(),
                }),
                dead(
                    DeadClass::Permanent,
                    "the email is already used by another Freshservice user: taken",
                ),
            ),
            (
                "404 retries",
                Halt::Fs(FsError::NotFound),
                retry("Freshservice answered 404 for the requester"),
            ),
        ];
        for (name, halt, want) in rows {
            assert_eq!(settle(halt), want, "{name}");
        }
    }

    #[test]
    fn labels() {
        let rows = [
            (Outcome::Applied, "applied"),
            (Outcome::Skipped("x"), "skipped"),
            (Outcome::Skipped("already applied"), "coalesced"),
            (
                Outcome::Skipped("a newer version was recorded meanwhile"),
                "coalesced",
            ),
            (
                Outcome::Park {
                    after: BUSY_WAIT,
                    reason: String::new(),
                },
                "parked",
            ),
            (
                Outcome::Retry {
                    after: BUSY_WAIT,
                    reason: String::new(),
                },
                "retried",
            ),
            (
                Outcome::Dead {
                    class: DeadClass::Permanent,
                    reason: String::new(),
                },
                "dead_lettered",
            ),
        ];
        for (o, want) in rows {
            assert_eq!(o.label(), want, "{o:?}");
        }
    }

    #[test]
    fn tenant_errors() {
        assert!(matches!(
            tenant_err(TenantError::Redis(redis_err())),
            Halt::Redis(_)
        ));
        for (name, e) in [
            ("bad domain", TenantError::BadDomain("x y".into())),
            ("empty key", TenantError::EmptyApiKey),
            ("corrupt", TenantError::Corrupt("t1".into())),
        ] {
            let reason = e.to_string();
            match tenant_err(e) {
                Halt::Dead {
                    class: DeadClass::Tenant,
                    reason: r,
                } => assert_eq!(r, reason, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn held_tenant_parks_its_event_briefly() {
        assert_eq!(
            tenant_held(&TenantState::CredentialsRejected, Some("401 revoked")),
            Outcome::Park {
                after: HELD_WAIT,
                reason: "tenant paused: Freshservice rejected its API key (401 revoked); replace the API key to resume".into(),
            }
        );
        assert_eq!(
            tenant_held(&TenantState::CredentialsRejected, None),
            Outcome::Park {
                after: HELD_WAIT,
                reason: "tenant paused: Freshservice rejected its API key (no reason recorded); replace the API key to resume".into(),
            }
        );
        assert_eq!(
            tenant_held(&TenantState::Paused, Some("migration")),
            Outcome::Park {
                after: HELD_WAIT,
                reason:
                    "tenant paused by an operator (migration); `ingress tenant resume` resumes it"
                        .into(),
            }
        );
    }

    /// Which answers a step takes as done or works around, per error class:
    /// (name, error, gone, fields unreadable, maybe already active,
    /// external_id refused when sent).
    #[test]
    fn tolerated_answers() {
        let rows: Vec<(&str, FsError, bool, bool, bool, bool)> = vec![
            ("404", FsError::NotFound, true, true, false, false),
            (
                "other 4xx",
                FsError::Permanent {
                    status: 422,
                    body: "x".into(),
                },
                false,
                true,
                true,
                false,
            ),
            (
                "400 invalid external_id",
                FsError::Permanent {
                    status: 400,
                    body: INVALID_EXTERNAL_ID.into(),
                },
                false,
                true,
                true,
                true,
            ),
            (
                "duplicate email",
                FsError::DuplicateEmail { body: "x".into() },
                false,
                false,
                true,
                false,
            ),
            (
                "401",
                FsError::Credentials {
                    status: 401,
                    body: "x".into(),
                },
                false,
                false,
                false,
                false,
            ),
            (
                "429",
                FsError::RateLimited {
                    retry_after: BUSY_WAIT,
                },
                false,
                false,
                false,
                false,
            ),
            (
                "5xx",
                FsError::Retryable {
                    cause: Transient::Status(500),
                    detail: "x".into(),
                },
                false,
                false,
                false,
                false,
            ),
            (
                "redirect",
                FsError::Redirected {
                    status: 302,
                    location: "x".into(),
                },
                false,
                false,
                false,
                false,
            ),
        ];
        for (name, e, gone, unreadable, maybe_active, refused) in rows {
            assert_eq!(
                maybe_already_active(&e),
                maybe_active,
                "{name}: maybe already active"
            );
            let h = Halt::Fs(e);
            assert_eq!(is_gone(&h), gone, "{name}: gone");
            assert_eq!(
                fields_unreadable(&h),
                unreadable,
                "{name}: fields unreadable"
            );
            assert_eq!(
                external_id_refused(&h, true),
                refused,
                "{name}: external_id refused"
            );
            assert!(
                !external_id_refused(&h, false),
                "{name}: external_id not sent"
            );
        }
        for h in [Halt::LeaseLost, Halt::Redis(redis_err())] {
            assert!(!is_gone(&h) && !fields_unreadable(&h) && !external_id_refused(&h, true));
        }
    }

    #[test]
    fn agent_email_dead_letters() {
        match agent_email(42, "a@x.test") {
            Halt::Dead { class, reason } => {
                assert_eq!(class, DeadClass::AgentEmail);
                assert_eq!(
                    reason,
                    "email belongs to an agent: a@x.test is Freshservice agent 42; the bridge only manages requesters"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
