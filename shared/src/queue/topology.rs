//! Queue names and declarations. All names start with `BRIDGE_QUEUE_PREFIX`
//! so several stacks (and parallel tests) share one broker without crossing.
//!
//! Each tenant has its own queue, so one tenant's backlog never holds up
//! another tenant's changes (`docs/architecture.md` §3, invariant 5): the
//! broker hands every consumer's queue its share, whatever lies in the others.
//!
//! - exchange `<p>.changes` (direct): routes a change by tenant id to
//! - queue `<p>.changes.<tenant>`: durable quorum queue of that tenant's
//!   change events; every worker consumes every tenant's queue.
//! - exchange + queue `<p>.wait.<tier>` per delay tier (fanout → durable
//!   quorum queue with a TTL): a tenant that is paused or out of budget
//!   parks its events here; on expiry they are dead-lettered to
//!   `<p>.changes` with their original routing key (the tenant id), i.e.
//!   back to the tenant's queue.
//! - queue `<p>.dead`: dead letters (a [`crate::event::DeadLetter`] per
//!   message), listed, replayed and purged by the worker binary.

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    Channel, ExchangeKind,
};
use std::time::Duration;

/// Delay tiers for parked events. A wait is rounded up to the next tier.
pub const WAIT_TIERS: &[Duration] = &[
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

#[derive(Clone, Debug)]
pub struct Topology {
    prefix: String,
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

fn quorum() -> FieldTable {
    let mut t = FieldTable::default();
    t.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    t
}

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The direct exchange change events are published to (routing key:
    /// tenant id).
    pub fn changes_exchange(&self) -> String {
        format!("{}.changes", self.prefix)
    }

    /// One tenant's change queue.
    pub fn tenant_queue(&self, tenant: &str) -> String {
        format!("{}.changes.{}", self.prefix, tenant)
    }

    pub fn dead(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// A delay tier's queue; its fanout exchange has the same name.
    pub fn wait(&self, tier: Duration) -> String {
        format!("{}.wait.{}s", self.prefix, tier.as_secs())
    }

    /// Every queue name that does not depend on a tenant (for cleanup).
    pub fn shared_queues(&self) -> Vec<String> {
        let mut q = vec![self.dead()];
        q.extend(WAIT_TIERS.iter().map(|t| self.wait(*t)));
        q
    }

    /// The smallest tier at least as long as `d` (the longest if none is).
    pub fn tier_for(d: Duration) -> Duration {
        WAIT_TIERS
            .iter()
            .copied()
            .find(|t| *t >= d)
            .unwrap_or(WAIT_TIERS[WAIT_TIERS.len() - 1])
    }

    /// Declares the exchanges and shared queues; idempotent, safe for each
    /// process to call.
    pub async fn declare(&self, ch: &Channel) -> Result<(), lapin::Error> {
        let exchange = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.exchange_declare(
            &self.changes_exchange(),
            ExchangeKind::Direct,
            exchange,
            FieldTable::default(),
        )
        .await?;
        ch.queue_declare(&self.dead(), durable(), quorum()).await?;
        for tier in WAIT_TIERS {
            let name = self.wait(*tier);
            let mut args = quorum();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(tier.as_millis() as i64),
            );
            // No dead-letter routing key: the expired event keeps its own
            // (the tenant id) and so returns to its tenant's queue.
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(self.changes_exchange().into()),
            );
            // At-least-once dead-lettering: an expired event is not dropped if
            // the move back fails (needs reject-publish overflow).
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
            ch.exchange_declare(&name, ExchangeKind::Fanout, exchange, FieldTable::default())
                .await?;
            ch.queue_declare(&name, durable(), args).await?;
            ch.queue_bind(
                &name,
                &name,
                "",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(())
    }

    /// Declares one tenant's queue and binds it; idempotent.
    pub async fn declare_tenant(&self, ch: &Channel, tenant: &str) -> Result<(), lapin::Error> {
        let q = self.tenant_queue(tenant);
        ch.queue_declare(&q, durable(), quorum()).await?;
        ch.queue_bind(
            &q,
            &self.changes_exchange(),
            tenant,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_round_up() {
        assert_eq!(
            Topology::tier_for(Duration::from_millis(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            Topology::tier_for(Duration::from_secs(6)),
            Duration::from_secs(30)
        );
        assert_eq!(
            Topology::tier_for(Duration::from_secs(9999)),
            Duration::from_secs(600)
        );
        assert_eq!(Topology::new("x").wait(Duration::from_secs(5)), "x.wait.5s");
        assert_eq!(Topology::new("x").tenant_queue("t1"), "x.changes.t1");
    }
}
