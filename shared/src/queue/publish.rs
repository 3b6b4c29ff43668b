//! The confirmed publisher. A publish succeeds only when the broker has
//! confirmed a persistent message routed to a durable queue (invariant 1);
//! anything else (nack, returned message, timeout, lost connection) is an
//! error the caller turns into a retry or a SCIM 503.
//!
//! The connection is opened lazily and re-opened after a failure, so a broker
//! restart heals without restarting the service.

use std::time::Duration;

use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    publisher_confirm::Confirmation,
    BasicProperties, Channel, Connection, ConnectionProperties,
};
use tokio::sync::Mutex;

use super::Topology;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("message broker unreachable: {0}")]
    Connect(lapin::Error),
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("message broker refused the event (nack)")]
    Nacked,
    #[error("message broker returned the event unrouted (queue `{0}` missing)")]
    Unroutable(String),
    #[error("message broker did not confirm within {0:?}")]
    Timeout(Duration),
}

struct Live {
    conn: Connection,
    channel: Channel,
}

/// A lazily connected, self-healing publisher with publisher confirms.
pub struct Publisher {
    url: String,
    topology: Topology,
    timeout: Duration,
    live: Mutex<Option<Live>>,
}

impl Publisher {
    pub fn new(url: impl Into<String>, topology: Topology, timeout: Duration) -> Self {
        Self {
            url: url.into(),
            topology,
            timeout,
            live: Mutex::new(None),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Opens (or re-opens) the connection and declares the topology.
    async fn channel(&self) -> Result<Channel, PublishError> {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_ref() {
            if l.conn.status().connected() && l.channel.status().connected() {
                return Ok(l.channel.clone());
            }
        }
        let conn = Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .map_err(PublishError::Connect)?;
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        self.topology.declare(&channel).await?;
        *live = Some(Live {
            conn,
            channel: channel.clone(),
        });
        Ok(channel)
    }

    /// Drops the connection so the next publish reconnects.
    async fn reset(&self) {
        if let Some(l) = self.live.lock().await.take() {
            let _ = l.conn.close(320, "publisher reset").await;
        }
    }

    /// Publishes `body` to `queue` and waits for the broker's confirm.
    pub async fn publish(
        &self,
        queue: &str,
        body: &[u8],
        message_id: &str,
    ) -> Result<(), PublishError> {
        let result =
            tokio::time::timeout(self.timeout, self.publish_inner(queue, body, message_id)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(PublishError::Timeout(self.timeout)),
        };
        if matches!(
            result,
            Err(PublishError::Broker(_) | PublishError::Timeout(_) | PublishError::Connect(_))
        ) {
            self.reset().await;
        }
        result
    }

    async fn publish_inner(
        &self,
        queue: &str,
        body: &[u8],
        message_id: &str,
    ) -> Result<(), PublishError> {
        let channel = self.channel().await?;
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.into());
        let confirm = channel
            .basic_publish(
                "",
                queue,
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                props,
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(PublishError::Unroutable(queue.to_string())),
            Confirmation::Nack(_) => Err(PublishError::Nacked),
            Confirmation::NotRequested => Err(PublishError::Nacked),
        }
    }

    /// True when a broker connection is open (readiness checks).
    pub async fn is_connected(&self) -> bool {
        match self.channel().await {
            Ok(c) => c.status().connected(),
            Err(_) => false,
        }
    }
}
