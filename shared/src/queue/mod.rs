//! RabbitMQ: the queue topology both services declare, the confirmed
//! publisher they use to put events on it, and the walk over the
//! dead-letter queue they both read.

pub mod deadletters;
pub mod publish;
pub mod topology;

pub use deadletters::{DeadLetterError, DeadLetterQueue};
pub use publish::{PublishError, Publisher};
pub use topology::Topology;
