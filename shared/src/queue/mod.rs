//! RabbitMQ: the queue topology both services declare, and the confirmed
//! publisher they use to put events on it.

pub mod publish;
pub mod topology;

pub use publish::{PublishError, Publisher};
pub use topology::Topology;
