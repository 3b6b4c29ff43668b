//! Every Freshservice call of one convergence goes through here: first the
//! tenant's budget (and a renewal of the user's lease) in one Redis script,
//! then the call, then the budget correction from `X-Ratelimit-Remaining`.
//! Quick transient failures are retried in place with jittered backoff
//! (backon); anything longer leaves the task as a [`Halt`] so the event
//! waits on a queue instead of holding a worker slot.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use shared::event::DeadClass;

use shared::freshservice::{Answer, Budget, Call, FsClient, FsError, Grant, LeaseRef};

use crate::{
    lease::Lease,
    metrics::{BudgetWait, Metrics},
};

/// Why a convergence stopped before it finished.
#[derive(Debug, thiserror::Error)]
pub enum Halt {
    /// Not a failure: the tenant's budget is spent, it is paused after a
    /// 429, or another worker holds the user. Try again after `after`.
    #[error("{reason}")]
    Park { after: Duration, reason: String },
    /// Freshservice said no (classified).
    #[error(transparent)]
    Fs(FsError),
    /// Give up on this change: dead-letter with the reason.
    #[error("{reason}")]
    Dead { class: DeadClass, reason: String },
    /// Our lease on the user expired and someone else has it.
    #[error("lost the user's lease to another worker")]
    LeaseLost,
    #[error("state store unavailable: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Quick in-call retries of a transient failure before it becomes a
/// queued retry.
const QUICK_RETRIES: usize = 2;

pub struct TenantApi<'a> {
    pub client: FsClient,
    pub budget: &'a Budget,
    pub metrics: &'a Metrics,
    pub tenant: &'a str,
    pub limit: u32,
    /// The user's lease, renewed with each call; `None` for calls that
    /// hold no user (`worker resync`'s listing).
    pub lease: Option<&'a Lease>,
    pub inline_wait: Duration,
}

impl TenantApi<'_> {
    /// Sends `call` within the budget; see the module doc.
    pub async fn call(&self, call: Call) -> Result<Answer, Halt> {
        let mut quick = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(QUICK_RETRIES)
            .with_jitter()
            .build();
        loop {
            self.gate().await?;
            let started = Instant::now();
            let sent = self.client.send(&call).await;
            self.metrics.call(call.op, sent.status, started.elapsed());
            if let Some(rem) = sent.remaining {
                if let Err(e) = self.budget.correct(self.tenant, self.limit, rem).await {
                    self.metrics.redis_error();
                    tracing::warn!(error = %e, "could not correct the tenant budget");
                }
            }
            match sent.result {
                Ok(a) => return Ok(a),
                Err(FsError::RateLimited { retry_after }) => {
                    // Everyone stops for Retry-After, not just this task.
                    self.metrics.rate_limit_pause(self.tenant);
                    self.budget.pause(self.tenant, retry_after).await?;
                    return Err(Halt::Park {
                        after: retry_after,
                        reason: format!(
                            "Freshservice answered 429; tenant paused for {retry_after:?}"
                        ),
                    });
                }
                // A create with no answer may have committed: never sent
                // again blind. The queued retry looks the email up first
                // (`machine.rs`, `create_sent`).
                Err(e) if call.op == Call::CREATE_OP && e.is_ambiguous() => {
                    return Err(Halt::Fs(e))
                }
                Err(e @ FsError::Retryable { .. }) => match quick.next() {
                    Some(d) => {
                        tracing::debug!(op = call.op, error = %e, ?d, "transient Freshservice failure, retrying");
                        self.metrics.retry();
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(Halt::Fs(e)),
                },
                Err(e) => return Err(Halt::Fs(e)),
            }
        }
    }

    /// Waits for budget inline when the wait is short, otherwise parks.
    async fn gate(&self) -> Result<(), Halt> {
        loop {
            let lease = self.lease.map(|l| LeaseRef {
                key: &l.key,
                token: l.token,
                ttl: l.ttl,
            });
            match self.budget.acquire(self.tenant, self.limit, lease).await? {
                Grant::Go => return Ok(()),
                Grant::LeaseLost => return Err(Halt::LeaseLost),
                Grant::Wait(d) if d <= self.inline_wait => {
                    self.metrics.budget_wait(self.tenant, BudgetWait::Inline);
                    // Jitter, so workers waiting on one tenant's budget do
                    // not retry in lockstep (one would win every slot).
                    let spread = (d / 4).min(Duration::from_millis(100)).as_millis() as u64;
                    let jitter = Duration::from_millis(rand::random::<u64>() % (spread + 1));
                    tokio::time::sleep(d + jitter).await;
                }
                Grant::Wait(d) => {
                    self.metrics.budget_wait(self.tenant, BudgetWait::Parked);
                    return Err(Halt::Park {
                        after: d,
                        reason: "tenant out of API budget or paused".into(),
                    });
                }
            }
        }
    }
}
