//! Queue names and declarations. All names start with `BRIDGE_QUEUE_PREFIX`
//! so several stacks (and parallel tests) share one broker without crossing.
//!
//! - `<p>.changes`: durable quorum queue every worker consumes.
//! - `<p>.wait.<tier>`: one durable quorum queue per delay tier; messages
//!   expire after the tier's TTL and are dead-lettered back to `changes`.
//!   A tenant that is paused or out of budget parks its events here so the
//!   consumer keeps serving other tenants (invariant 5).
//! - `<p>.dead`: dead letters (a [`crate::event::DeadLetter`] per message),
//!   listed, replayed and purged by the worker binary.

use lapin::{options::QueueDeclareOptions, types::AMQPValue, types::FieldTable, Channel};
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

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn changes(&self) -> String {
        format!("{}.changes", self.prefix)
    }

    pub fn dead(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn wait(&self, tier: Duration) -> String {
        format!("{}.wait.{}s", self.prefix, tier.as_secs())
    }

    /// The smallest tier at least as long as `d` (the longest if none is).
    pub fn tier_for(d: Duration) -> Duration {
        WAIT_TIERS
            .iter()
            .copied()
            .find(|t| *t >= d)
            .unwrap_or(*WAIT_TIERS.last().unwrap())
    }

    /// Declares every queue; idempotent, safe for each process to call.
    pub async fn declare(&self, ch: &Channel) -> Result<(), lapin::Error> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let mut quorum = FieldTable::default();
        quorum.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        ch.queue_declare(&self.changes(), durable, quorum.clone())
            .await?;
        ch.queue_declare(&self.dead(), durable, quorum.clone())
            .await?;
        for tier in WAIT_TIERS {
            let mut args = quorum.clone();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(tier.as_millis() as i64),
            );
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(self.changes().into()),
            );
            // At-least-once dead-lettering: an expired event is not dropped if
            // the move back to `changes` fails (needs reject-publish overflow).
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
            ch.queue_declare(&self.wait(*tier), durable, args).await?;
        }
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
    }
}
