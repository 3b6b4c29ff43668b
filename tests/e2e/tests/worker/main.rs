//! The worker end to end, one test binary (one link, tests in parallel):
//! in-process workers over real Redis and RabbitMQ against the Freshservice
//! simulator. The tests that run workers as OS processes and kill them are
//! their own binary (`worker_processes.rs`), so their load and timing
//! bounds do not share a process with these.

mod support;

mod budget;
mod deadletters;
mod fairness;
mod faults;
mod groups;
mod lifecycle;
mod mapping;
mod observability;
mod operator;
mod ops;
mod profile;
mod redirect;
mod unconfirmed;
mod uninstall;
