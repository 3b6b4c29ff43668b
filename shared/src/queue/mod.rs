//! RabbitMQ: the queue topology both services declare, the confirmed
//! publisher they use to put events on it, the walk over the
//! dead-letter queue they both read, and queue depth.

pub mod deadletters;
pub mod depth;
pub mod publish;
pub mod topology;

pub use deadletters::{DeadLetterError, DeadLetterQueue};
pub use depth::{DepthError, QueueCounts, QueueDepth};
pub use publish::{
    request_id_of, PublishError, PublishObserver, PublishOutcome, Publisher, REQUEST_ID_HEADER,
};
pub use topology::Topology;
