//! The dead-letter queue (`<prefix>.dead`): listing, replaying and purging
//! dead letters. The one implementation behind the worker's `dlq` commands and
//! the ingress's status page and uninstall (`docs/architecture.md` §3,
//! invariant 6).
//!
//! AMQP 0.9.1 cannot read a queue without taking messages off it, and
//! returning them with a nack (requeue) counts against a quorum queue's
//! delivery limit, so a letter that is merely looked at often enough would
//! be dropped by the broker. So every walk takes the messages that were on
//! the queue when it started exactly once, and each one is either kept
//! (re-published to the tail under the same message id, confirmed, then
//! acked), replayed (its event re-published to `changes` with attempt 0,
//! confirmed, then acked) or purged (acked). A crash midway can duplicate a
//! dead letter, never lose one.

use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::FieldTable,
    Connection, ConnectionProperties,
};

use super::{PublishError, Publisher};
use crate::event::DeadLetter;

/// Which dead letters a walk acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    All,
    /// Every readable dead letter of this tenant.
    Tenant(String),
    /// The AMQP message id a listing shows, whatever its tenant.
    Id(String),
    /// One message id, only if it is a readable dead letter of this tenant.
    TenantId {
        tenant: String,
        message_id: String,
    },
}

/// One dead letter as stored.
#[derive(Clone, Debug)]
pub struct Entry {
    pub message_id: String,
    /// `None` when the body is not a dead letter (e.g. an unreadable event).
    pub letter: Option<DeadLetter>,
    pub raw: String,
}

impl Entry {
    fn matches(&self, sel: &Selector) -> bool {
        let tenant_is = |t: &str| self.letter.as_ref().is_some_and(|l| l.event.tenant == t);
        match sel {
            Selector::All => true,
            Selector::Tenant(t) => tenant_is(t),
            Selector::Id(id) => &self.message_id == id,
            Selector::TenantId { tenant, message_id } => {
                tenant_is(tenant) && &self.message_id == message_id
            }
        }
    }

    /// Human-readable block (the worker's `dlq list`).
    pub fn describe(&self) -> String {
        match &self.letter {
            Some(l) => format!(
                "{id}\n  tenant {t}  {k} {u}  version {v}  attempt {a}\n  class  {c}  at {at}\n  reason {r}\n",
                id = self.message_id,
                t = l.event.tenant,
                k = l.event.kind.as_str(),
                u = l.event.id,
                v = l.event.version,
                a = l.event.attempt,
                c = l.class,
                at = l.at,
                r = l.reason
            ),
            None => format!("{}\n  unreadable message: {}\n", self.message_id, self.raw),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("message broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("could not re-publish: {0}")]
    Publish(#[from] PublishError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    List,
    Replay,
    Purge,
}

/// Walks the dead-letter queue of `publisher`'s topology over its own
/// connection to `amqp_url`; kept and replayed messages go out through
/// `publisher` (with confirms).
pub struct DeadLetterQueue<'a> {
    amqp_url: &'a str,
    publisher: &'a Publisher,
    declare_topology: bool,
    max_walk: Option<u32>,
}

impl<'a> DeadLetterQueue<'a> {
    /// By default a missing dead-letter queue means there are no dead
    /// letters, and a walk reads the whole queue.
    pub fn new(amqp_url: &'a str, publisher: &'a Publisher) -> Self {
        Self {
            amqp_url,
            publisher,
            declare_topology: false,
            max_walk: None,
        }
    }

    /// Declares the whole topology before walking (then a missing queue is
    /// an error).
    pub fn declare_topology(mut self) -> Self {
        self.declare_topology = true;
        self
    }

    /// Reads at most `n` messages per walk: a larger queue is read in turns
    /// (each walk moves what it kept to the tail).
    pub fn max_walk(mut self, n: u32) -> Self {
        self.max_walk = Some(n);
        self
    }

    /// The selected dead letters, in queue order; nothing is removed.
    pub async fn list(&self, sel: &Selector) -> Result<Vec<Entry>, DeadLetterError> {
        self.walk(sel, Action::List).await
    }

    /// Re-publishes the selected events to `changes` with attempt 0 and
    /// removes their dead letters. Unreadable messages are never replayed.
    /// Returns what was replayed.
    pub async fn replay(&self, sel: &Selector) -> Result<Vec<Entry>, DeadLetterError> {
        self.walk(sel, Action::Replay).await
    }

    /// Removes the selected dead letters for good; returns what was removed.
    pub async fn purge(&self, sel: &Selector) -> Result<Vec<Entry>, DeadLetterError> {
        self.walk(sel, Action::Purge).await
    }

    async fn walk(&self, sel: &Selector, action: Action) -> Result<Vec<Entry>, DeadLetterError> {
        let conn = Connection::connect(self.amqp_url, ConnectionProperties::default()).await?;
        let result = self.walk_on(&conn, sel, action).await;
        let _ = conn.close(200, "dead-letter walk done").await;
        result
    }

    async fn walk_on(
        &self,
        conn: &Connection,
        sel: &Selector,
        action: Action,
    ) -> Result<Vec<Entry>, DeadLetterError> {
        let topology = self.publisher.topology();
        let dead = topology.dead();
        let ch = conn.create_channel().await?;
        if self.declare_topology {
            topology.declare(&ch).await?;
        }
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let q = match ch
            .queue_declare(&dead, passive, FieldTable::default())
            .await
        {
            Ok(q) => q,
            Err(e) if self.declare_topology => return Err(e.into()),
            // No dead-letter queue yet: nothing ever died.
            Err(_) => return Ok(vec![]),
        };
        let count = match self.max_walk {
            Some(n) => q.message_count().min(n),
            None => q.message_count(),
        };
        let mut selected = Vec::new();
        for _ in 0..count {
            let Some(msg) = ch
                .basic_get(&dead, BasicGetOptions { no_ack: false })
                .await?
            else {
                break;
            };
            let data = &msg.delivery.data;
            let entry = Entry {
                message_id: msg
                    .delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                letter: serde_json::from_slice::<DeadLetter>(data).ok(),
                raw: String::from_utf8_lossy(data).into_owned(),
            };
            // An unreadable message cannot be replayed; it stays for a person.
            let chosen =
                entry.matches(sel) && !(action == Action::Replay && entry.letter.is_none());
            // On an error the message stays unacked: closing the connection
            // puts it back.
            match (chosen, action, &entry.letter) {
                (true, Action::Purge, _) => {}
                (true, Action::Replay, Some(l)) => {
                    let mut ev = l.event.clone();
                    ev.attempt = 0;
                    self.publisher.publish_change(&ev).await?;
                }
                // Kept: back to the tail, under the same id.
                _ => {
                    self.publisher
                        .publish(&dead, data, &entry.message_id)
                        .await?
                }
            }
            msg.delivery.ack(BasicAckOptions::default()).await?;
            if chosen {
                selected.push(entry);
            }
        }
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ChangeEvent;

    fn entry(id: &str, tenant: Option<&str>) -> Entry {
        Entry {
            message_id: id.to_string(),
            letter: tenant.map(|t| DeadLetter {
                event: ChangeEvent::user(t, "u1", 1, "r1"),
                class: crate::event::DeadClass::Permanent,
                reason: "no".into(),
                at: "2026-01-01T00:00:00Z".into(),
            }),
            raw: "x".into(),
        }
    }

    #[test]
    fn a_listing_names_the_kind_of_resource() {
        assert!(entry("m1", Some("a"))
            .describe()
            .contains("tenant a  user u1"));
        let mut g = entry("m2", Some("a"));
        if let Some(l) = g.letter.as_mut() {
            l.event = ChangeEvent::group("a", "g1", 3, "r1");
        }
        assert!(
            g.describe().contains("tenant a  group g1  version 3"),
            "{}",
            g.describe()
        );
    }

    #[test]
    fn selectors() {
        let a = entry("m1", Some("a"));
        let bad = entry("m2", None);
        assert!(a.matches(&Selector::All) && bad.matches(&Selector::All));
        assert!(a.matches(&Selector::Tenant("a".into())));
        assert!(!a.matches(&Selector::Tenant("b".into())));
        assert!(!bad.matches(&Selector::Tenant("a".into())));
        assert!(bad.matches(&Selector::Id("m2".into())));
        let only = |tenant: &str, id: &str| Selector::TenantId {
            tenant: tenant.into(),
            message_id: id.into(),
        };
        assert!(a.matches(&only("a", "m1")));
        assert!(!a.matches(&only("b", "m1")));
        assert!(!a.matches(&only("a", "m2")));
        assert!(!bad.matches(&only("a", "m2")));
    }
}
