//! The dead-letter queue (`<prefix>.dead`): listing, replaying and purging
//! dead letters for the `worker dlq …` commands (invariant 6).
//!
//! AMQP 0.9.1 cannot read a queue without taking messages off it, and
//! returning them with a nack counts against a quorum queue's delivery
//! limit. So every command walks the messages that were on the queue when
//! it started, exactly once: each one is either kept (re-published to the
//! tail, confirmed, then acked), replayed (its event re-published to
//! `changes` with attempt 0, then acked) or purged (acked). A crash midway
//! can duplicate a dead letter, never lose one.

use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::FieldTable,
    Connection, ConnectionProperties,
};
use shared::{
    event::DeadLetter,
    queue::{Publisher, Topology},
};

/// Which dead letters a command acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    All,
    Tenant(String),
    /// The AMQP message id `list` shows.
    Id(String),
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
        match sel {
            Selector::All => true,
            Selector::Tenant(t) => self.letter.as_ref().is_some_and(|l| &l.event.tenant == t),
            Selector::Id(id) => &self.message_id == id,
        }
    }

    /// Human-readable block for the CLI.
    pub fn describe(&self) -> String {
        match &self.letter {
            Some(l) => format!(
                "{id}\n  tenant {t}  user {u}  version {v}  attempt {a}\n  class  {c}  at {at}\n  reason {r}\n",
                id = self.message_id,
                t = l.event.tenant,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    List,
    Replay,
    Purge,
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("message broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("could not re-publish: {0}")]
    Publish(#[from] shared::queue::PublishError),
}

/// Lists dead letters (all, or of one tenant).
pub async fn list(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    walk(amqp_url, topology, sel, Action::List).await
}

/// Re-publishes the selected events to `changes` with attempt 0 and removes
/// their dead letters. Returns what was replayed.
pub async fn replay(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    walk(amqp_url, topology, sel, Action::Replay).await
}

/// Removes the selected dead letters for good.
pub async fn purge(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    walk(amqp_url, topology, sel, Action::Purge).await
}

async fn walk(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
    action: Action,
) -> Result<Vec<Entry>, DlqError> {
    let conn = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    topology.declare(&ch).await?;
    let q = ch
        .queue_declare(
            &topology.dead(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let publisher = Publisher::new(
        amqp_url,
        topology.clone(),
        std::time::Duration::from_secs(10),
    );
    let mut selected = Vec::new();
    let mut result = Ok(());
    for _ in 0..q.message_count() {
        let Some(msg) = ch
            .basic_get(&topology.dead(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let raw = String::from_utf8_lossy(&msg.delivery.data).into_owned();
        let message_id = msg
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let entry = Entry {
            letter: serde_json::from_str::<DeadLetter>(&raw).ok(),
            message_id,
            raw,
        };
        // An unreadable message cannot be replayed; it stays for a person.
        let chosen = entry.matches(sel) && !(action == Action::Replay && entry.letter.is_none());
        let step = async {
            match (chosen, action) {
                (true, Action::Purge) => {}
                (true, Action::Replay) => {
                    let mut ev = entry
                        .letter
                        .as_ref()
                        .expect("chosen letters are readable")
                        .event
                        .clone();
                    ev.attempt = 0;
                    publisher.publish_change(&ev).await?;
                }
                // Kept: back to the tail, under the same id.
                _ => {
                    publisher
                        .publish(&topology.dead(), &msg.delivery.data, &entry.message_id)
                        .await?
                }
            }
            Ok::<(), DlqError>(())
        }
        .await;
        match step {
            Ok(()) => msg.delivery.ack(BasicAckOptions::default()).await?,
            Err(e) => {
                // Leave it unacked: the close below puts it back.
                result = Err(e);
                break;
            }
        }
        if chosen {
            selected.push(entry);
        }
    }
    let _ = conn.close(200, "dlq command done").await;
    result.map(|_| selected)
}
