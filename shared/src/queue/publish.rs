//! The confirmed publisher. A publish succeeds only when the broker has
//! confirmed a persistent message routed to a durable queue
//! (`docs/architecture.md` §3, invariant 1); anything else (nack, returned
//! message, timeout, lost connection) is an error the caller turns into a
//! retry or a SCIM 503.
//!
//! The connection is opened lazily and re-opened after a failure, so a broker
//! restart heals without restarting the service. Every broker call, the
//! connect included, gives up after the configured timeout: a broker that
//! accepts connections but never answers must not hang a request.
//!
//! A change event carries the SCIM request's id in the AMQP header
//! [`REQUEST_ID_HEADER`] (re-published events keep it), and whoever owns
//! the publisher may watch its publishes and connections through a
//! [`PublishObserver`] (the ingress's metrics), so this crate needs no
//! metrics of its own.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    publisher_confirm::Confirmation,
    types::{AMQPValue, FieldTable, ShortString},
    BasicProperties, Channel, Connection, ConnectionProperties,
};
use tokio::sync::Mutex;

use super::Topology;
use crate::event::ChangeEvent;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("message broker unreachable: {0}")]
    Connect(lapin::Error),
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("message broker refused the event (nack)")]
    Nacked,
    #[error("message broker returned the event unrouted ({0}: no queue bound)")]
    Unroutable(String),
    #[error("message broker did not confirm within {0:?}")]
    Timeout(Duration),
}

/// The AMQP message header that carries the id of the SCIM request whose
/// write the event announces.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id a message carries in [`REQUEST_ID_HEADER`], if any.
pub fn request_id_of(props: &BasicProperties) -> Option<String> {
    let headers = props.headers().as_ref()?;
    match headers.inner().get(&ShortString::from(REQUEST_ID_HEADER))? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// How a change event's publish ended, for [`PublishObserver::published`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The broker confirmed it.
    Confirmed,
    /// The broker refused it (nack).
    Nacked,
    /// No confirm within the timeout.
    Timeout,
    /// Anything else: no connection, a channel error, unroutable.
    Error,
}

impl PublishOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Nacked => "nacked",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }

    fn of(result: &Result<(), PublishError>) -> Self {
        match result {
            Ok(()) => Self::Confirmed,
            Err(PublishError::Nacked) => Self::Nacked,
            Err(PublishError::Timeout(_)) => Self::Timeout,
            Err(_) => Self::Error,
        }
    }
}

/// Watches a [`Publisher`] (for metrics).
pub trait PublishObserver: Send + Sync {
    /// A change event's publish ended with `outcome` after `took`.
    fn published(&self, outcome: PublishOutcome, took: Duration);
    /// A connection to the broker was opened.
    fn connected(&self);
}

struct Live {
    conn: Connection,
    channel: Channel,
    /// Tenants whose queue this connection has declared and bound.
    declared: std::collections::HashSet<String>,
}

/// A lazily connected, self-healing publisher with publisher confirms.
pub struct Publisher {
    url: String,
    topology: Topology,
    timeout: Duration,
    live: Mutex<Option<Live>>,
    observer: Option<Arc<dyn PublishObserver>>,
}

impl Publisher {
    pub fn new(url: impl Into<String>, topology: Topology, timeout: Duration) -> Self {
        Self {
            url: url.into(),
            topology,
            timeout,
            live: Mutex::new(None),
            observer: None,
        }
    }

    /// The same publisher, reporting to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn PublishObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The live channel, (re-)opening the connection within `timeout`: a
    /// broker that accepts TCP but never answers (stopped, overloaded)
    /// must not hold every publish, and the lock, forever.
    async fn channel(&self, timeout: Duration) -> Result<Channel, PublishError> {
        match tokio::time::timeout(timeout, self.open_channel()).await {
            Ok(r) => r,
            Err(_) => Err(PublishError::Timeout(timeout)),
        }
    }

    /// Opens (or re-opens) the connection and declares the topology.
    async fn open_channel(&self) -> Result<Channel, PublishError> {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_ref() {
            if l.conn.status().connected() && l.channel.status().connected() {
                return Ok(l.channel.clone());
            }
        }
        let open = async {
            let conn = Connection::connect(&self.url, ConnectionProperties::default())
                .await
                .map_err(PublishError::Connect)?;
            let channel = conn.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            self.topology.declare(&channel).await?;
            Ok::<_, PublishError>((conn, channel))
        };
        // Bounded by the caller (`channel`).
        let (conn, channel) = open.await?;
        if let Some(o) = &self.observer {
            o.connected();
        }
        *live = Some(Live {
            conn,
            channel: channel.clone(),
            declared: Default::default(),
        });
        Ok(channel)
    }

    /// Drops the connection so the next publish reconnects.
    async fn reset(&self) {
        if let Some(l) = self.live.lock().await.take() {
            let _ = l.conn.close(320, "publisher reset").await;
        }
    }

    /// Publishes a change event to its tenant's queue (declaring the queue
    /// on first use by this connection) and waits for the broker's confirm.
    pub async fn publish_change(&self, ev: &ChangeEvent) -> Result<(), PublishError> {
        self.publish_change_within(ev, self.timeout).await
    }

    /// [`Publisher::publish_change`] for a caller with less time than the
    /// configured timeout (a SCIM request's deadline): each step waits at
    /// most `limit`.
    pub async fn publish_change_within(
        &self,
        ev: &ChangeEvent,
        limit: Duration,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        let result = self.publish_change_once(ev, limit).await;
        if let Some(o) = &self.observer {
            o.published(PublishOutcome::of(&result), started.elapsed());
        }
        result
    }

    async fn publish_change_once(
        &self,
        ev: &ChangeEvent,
        limit: Duration,
    ) -> Result<(), PublishError> {
        let timeout = limit.min(self.timeout);
        let id = format!("{}/{}/{}", ev.tenant, ev.id, ev.version);
        let body = ev.to_json();
        let exchange = self.topology.changes_exchange();
        for attempt in 0..2 {
            self.ensure_tenant(&ev.tenant, attempt > 0, timeout).await?;
            match self
                .publish_to(&exchange, &ev.tenant, &body, &id, event_rid(ev), timeout)
                .await
            {
                // Unroutable: the tenant's queue vanished (deleted by hand or
                // by an uninstall racing this write); declare and try again.
                Err(PublishError::Unroutable(_)) if attempt == 0 => continue,
                other => return other,
            }
        }
        Err(PublishError::Unroutable(
            self.topology.tenant_queue(&ev.tenant),
        ))
    }

    /// Parks a change event on a delay tier; it returns to its tenant's
    /// queue when the tier's TTL expires.
    pub async fn publish_wait(&self, tier: Duration, ev: &ChangeEvent) -> Result<(), PublishError> {
        let exchange = self.topology.wait(Topology::tier_for(tier));
        let id = format!("{}/{}/{}", ev.tenant, ev.id, ev.version);
        self.publish_to(
            &exchange,
            &ev.tenant,
            &ev.to_json(),
            &id,
            event_rid(ev),
            self.timeout,
        )
        .await
    }

    /// Publishes `body` straight to `queue` (default exchange), e.g. the
    /// dead-letter queue, and waits for the broker's confirm.
    pub async fn publish(
        &self,
        queue: &str,
        body: &[u8],
        message_id: &str,
    ) -> Result<(), PublishError> {
        self.publish_to("", queue, body, message_id, None, self.timeout)
            .await
    }

    /// Declares and binds the tenant's queue unless this connection did.
    async fn ensure_tenant(
        &self,
        tenant: &str,
        force: bool,
        timeout: Duration,
    ) -> Result<(), PublishError> {
        let channel = self.channel(timeout).await?;
        {
            let live = self.live.lock().await;
            if !force && live.as_ref().is_some_and(|l| l.declared.contains(tenant)) {
                return Ok(());
            }
        }
        let declared =
            tokio::time::timeout(timeout, self.topology.declare_tenant(&channel, tenant)).await;
        match declared {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.reset().await;
                return Err(e.into());
            }
            Err(_) => {
                self.reset().await;
                return Err(PublishError::Timeout(timeout));
            }
        }
        if let Some(l) = self.live.lock().await.as_mut() {
            l.declared.insert(tenant.to_string());
        }
        Ok(())
    }

    async fn publish_to(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        message_id: &str,
        request_id: Option<&str>,
        timeout: Duration,
    ) -> Result<(), PublishError> {
        let result = tokio::time::timeout(
            timeout,
            self.publish_inner(exchange, routing_key, body, message_id, request_id, timeout),
        )
        .await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(PublishError::Timeout(timeout)),
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
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        message_id: &str,
        request_id: Option<&str>,
        timeout: Duration,
    ) -> Result<(), PublishError> {
        let channel = self.channel(timeout).await?;
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.into());
        if let Some(rid) = request_id {
            let mut headers = FieldTable::default();
            headers.insert(REQUEST_ID_HEADER.into(), AMQPValue::LongString(rid.into()));
            props = props.with_headers(headers);
        }
        let confirm = channel
            .basic_publish(
                exchange,
                routing_key,
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
            Confirmation::Ack(Some(_)) => Err(PublishError::Unroutable(format!(
                "{exchange}/{routing_key}"
            ))),
            Confirmation::Nack(_) => Err(PublishError::Nacked),
            Confirmation::NotRequested => Err(PublishError::Nacked),
        }
    }

    /// Deletes a tenant's change queue and the events in it (uninstall),
    /// within the timeout. Returns how many events were dropped.
    pub async fn delete_tenant_queue(&self, tenant: &str) -> Result<u32, PublishError> {
        let delete = async {
            let channel = self.channel(self.timeout).await?;
            Ok(channel
                .queue_delete(
                    &self.topology.tenant_queue(tenant),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await?)
        };
        let result = match tokio::time::timeout(self.timeout, delete).await {
            Ok(r) => r,
            Err(_) => Err(PublishError::Timeout(self.timeout)),
        };
        if result.is_err() {
            self.reset().await;
        }
        if let Some(l) = self.live.lock().await.as_mut() {
            l.declared.remove(tenant);
        }
        result
    }

    /// True when a broker connection is open (readiness checks).
    pub async fn is_connected(&self) -> bool {
        match self.channel(self.timeout).await {
            Ok(c) => c.status().connected(),
            Err(_) => false,
        }
    }
}

/// The request id a change event's message carries, if it has one.
fn event_rid(ev: &ChangeEvent) -> Option<&str> {
    Some(ev.request_id.as_str()).filter(|r| !r.is_empty() && *r != "-")
}
