//! Queue depth: how many change events wait on a queue (and how many
//! consumers it has), read with a
//! passive declare over one long-lived connection (opened on first use,
//! re-opened after a failure), so a page view or a metrics scrape costs a
//! round trip, not a TCP and AMQP handshake.
//!
//! A passive declare of a queue that does not exist makes the broker close
//! the channel (404); that is an answer ("no queue"), and the next read
//! opens a new channel on the same connection.

use std::time::Duration;

use lapin::{
    options::QueueDeclareOptions, types::FieldTable, Channel, Connection, ConnectionProperties,
};
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum DepthError {
    #[error("message broker unreachable: {0}")]
    Connect(lapin::Error),
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("message broker did not answer within {0:?}")]
    Timeout(Duration),
}

/// One queue as a passive declare reports it. Unacknowledged events
/// (delivered, not yet settled) are in neither number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    /// Events waiting to be delivered.
    pub ready: u32,
    /// Consumers attached to the queue.
    pub consumers: u32,
}

struct Live {
    conn: Connection,
    channel: Channel,
}

/// Reads queue depths; share one per process.
pub struct QueueDepth {
    url: String,
    timeout: Duration,
    live: Mutex<Option<Live>>,
}

/// The broker's AMQP reply code for a queue that does not exist.
const NOT_FOUND: u16 = 404;

impl QueueDepth {
    pub fn new(url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            url: url.into(),
            timeout,
            live: Mutex::new(None),
        }
    }

    /// Events ready on `queue` (not yet delivered to a consumer); `None`
    /// when the queue does not exist. Gives up after the timeout.
    pub async fn ready(&self, queue: &str) -> Result<Option<u32>, DepthError> {
        Ok(self.counts(queue).await?.map(|c| c.ready))
    }

    /// What the broker says of `queue`: events ready and consumers
    /// attached; `None` when the queue does not exist. Gives up after the
    /// timeout.
    pub async fn counts(&self, queue: &str) -> Result<Option<QueueCounts>, DepthError> {
        match tokio::time::timeout(self.timeout, self.read(queue)).await {
            Ok(r) => r,
            Err(_) => {
                // A broker that stopped answering: start afresh next time.
                self.live.lock().await.take();
                Err(DepthError::Timeout(self.timeout))
            }
        }
    }

    async fn read(&self, queue: &str) -> Result<Option<QueueCounts>, DepthError> {
        let mut live = self.live.lock().await;
        let channel = match live.as_ref() {
            Some(l) if l.conn.status().connected() && l.channel.status().connected() => {
                l.channel.clone()
            }
            Some(l) if l.conn.status().connected() => {
                let channel = l.conn.create_channel().await?;
                if let Some(l) = live.as_mut() {
                    l.channel = channel.clone();
                }
                channel
            }
            _ => {
                let conn = Connection::connect(&self.url, ConnectionProperties::default())
                    .await
                    .map_err(DepthError::Connect)?;
                let channel = conn.create_channel().await?;
                *live = Some(Live {
                    conn,
                    channel: channel.clone(),
                });
                channel
            }
        };
        let declared = channel
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        match declared {
            Ok(q) => Ok(Some(QueueCounts {
                ready: q.message_count(),
                consumers: q.consumer_count(),
            })),
            Err(lapin::Error::ProtocolError(e)) if e.get_id() == NOT_FOUND => Ok(None),
            Err(e) => {
                live.take();
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amqp_url() -> String {
        std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
    }

    /// Depth of a real queue, then of a missing one, then of the real one
    /// again over the same connection (the 404 closed only the channel).
    #[tokio::test]
    async fn reads_depth_and_survives_a_missing_queue() {
        let name = format!("depth-test-{}", uuid::Uuid::new_v4());
        let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.queue_declare(&name, QueueDeclareOptions::default(), FieldTable::default())
            .await
            .unwrap();
        for _ in 0..3 {
            ch.basic_publish(
                "",
                &name,
                Default::default(),
                b"x",
                lapin::BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
        let depth = QueueDepth::new(amqp_url(), Duration::from_secs(5));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        // The broker counts a published message shortly after confirming it.
        loop {
            let n = depth.ready(&name).await.unwrap();
            if n == Some(3) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "depth stuck at {n:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(depth.ready(&format!("{name}-missing")).await.unwrap(), None);
        assert_eq!(depth.ready(&name).await.unwrap(), Some(3));
        assert_eq!(
            depth.counts(&name).await.unwrap(),
            Some(QueueCounts {
                ready: 3,
                consumers: 0
            })
        );
        ch.queue_delete(&name, Default::default()).await.unwrap();
        let _ = conn.close(200, "test done").await;
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_an_error_not_a_hang() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let depth = QueueDepth::new(
            format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
            Duration::from_secs(2),
        );
        assert!(depth.ready("anything").await.is_err());
    }
}
