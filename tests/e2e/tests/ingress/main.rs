//! The ingress end to end, one test binary (one link, tests in parallel):
//! SCIM over HTTP (HTTPS in `tls`) against real Redis and RabbitMQ, with
//! the simulator and a worker where a test needs the whole path. Each module was once its own
//! binary; its name says what it proves.

mod backend_outage;
mod connection_limits;
mod discovery;
mod durability;
mod entra_sequences;
mod errors;
mod groups;
mod hostile;
mod okta_sequences;
mod operator;
mod records_format;
mod shutdown;
mod tls;
mod walking_skeleton;
