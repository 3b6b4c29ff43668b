//! Opening Redis. A `ConnectionManager` multiplexes one connection and
//! reconnects by itself after Redis restarts, so callers only see errors for
//! the commands that were in flight.
//!
//! How long a reconnect takes matters: every command issued meanwhile
//! waits for it. redis-rs 0.27 hands `factor` to backon as the *growth*
//! factor of delays that start at 1 s and are capped only by
//! `max_delay` (backon's default is 60 s), so its default factor of 100
//! (and the 2 retries this file used to ask for) meant a reconnect slept
//! 1–2 s and then 60–120 s: commands hung for a minute or more while Redis
//! was down and for as long after it came back. Now one reconnect is one
//! retry, at most ~2 s of sleep and two bounded attempts; when it fails,
//! the next command starts another. A response that does not come (a
//! stopped Redis) is not a lost connection and triggers no reconnect; it
//! fails after `RESPONSE_TIMEOUT`, and the ingress bounds each SCIM request
//! well below that (`ingress/src/http/deadline.rs`).

use std::time::Duration;

use redis::aio::ConnectionManager;

/// Each connection attempt, handshake included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A command's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let cfg = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_factor(2)
        .set_max_delay(1_000)
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT);
    ConnectionManager::new_with_config(client, cfg).await
}
