//! The dead-letter queue (`<prefix>.dead`) for the `worker dlq …` commands
//! (`docs/architecture.md` §3, invariant 6): a thin front over
//! [`shared::queue::deadletters`], which walks the queue (and explains why it
//! re-publishes rather than requeues). The commands declare the topology
//! first, read the whole queue in one walk and re-publish over a publisher of
//! their own.

use std::time::Duration;

use shared::queue::{DeadLetterQueue, Publisher, Topology};

pub use shared::queue::deadletters::{DeadLetterError as DlqError, Entry, Selector};

/// Lists dead letters (all, or of one tenant).
pub async fn list(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    let publisher = publisher(amqp_url, topology);
    queue(amqp_url, &publisher).list(sel).await
}

/// Re-publishes the selected events to `changes` with attempt 0 and removes
/// their dead letters. Returns what was replayed.
pub async fn replay(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    let publisher = publisher(amqp_url, topology);
    queue(amqp_url, &publisher).replay(sel).await
}

/// Removes the selected dead letters for good.
pub async fn purge(
    amqp_url: &str,
    topology: &Topology,
    sel: &Selector,
) -> Result<Vec<Entry>, DlqError> {
    let publisher = publisher(amqp_url, topology);
    queue(amqp_url, &publisher).purge(sel).await
}

fn publisher(amqp_url: &str, topology: &Topology) -> Publisher {
    Publisher::new(amqp_url, topology.clone(), Duration::from_secs(10))
}

fn queue<'a>(amqp_url: &'a str, publisher: &'a Publisher) -> DeadLetterQueue<'a> {
    DeadLetterQueue::new(amqp_url, publisher).declare_topology()
}
