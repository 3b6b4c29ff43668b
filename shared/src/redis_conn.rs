//! Opening Redis. A `ConnectionManager` multiplexes one connection and
//! reconnects by itself after Redis restarts, so callers only see errors for
//! the commands that were in flight.
//!
//! How long a reconnect takes matters: every command issued meanwhile
//! waits for it. (redis-rs 0.27 handed its `factor` to backon as the growth
//! factor of delays that started at 1 s, so its defaults made a reconnect
//! sleep 1–2 s and then 60–120 s: commands hung for a minute or more while
//! Redis was down and for as long after it came back.) redis-rs 1.x draws
//! each delay from `min_delay · exponent_base^attempt`, capped by
//! `max_delay`: one reconnect here is one retry, at most ~1 s of sleep and
//! two bounded attempts; when it fails, the next command starts another. A
//! response that does not come (a stopped Redis) is not a lost connection
//! and triggers no reconnect; it fails after `RESPONSE_TIMEOUT`, and the
//! ingress bounds each SCIM request well below that
//! (`ingress/src/http/deadline.rs`).

use std::time::Duration;

use redis::aio::ConnectionManager;

/// Each connection attempt, handshake included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A command's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first reconnect delay (before jitter) and the cap on any.
const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(250);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let cfg = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_exponent_base(2.0)
        .set_min_delay(MIN_RECONNECT_DELAY)
        .set_max_delay(MAX_RECONNECT_DELAY)
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    ConnectionManager::new_with_config(client, cfg).await
}

/// Runs a pipeline built in a loop, which may hold no command. redis-rs 1.x
/// refuses to send an empty pipeline ("empty command"); 0.27 answered it
/// with an empty list, and the callers (an outbox sweep with nothing stale,
/// a page of no users) rely on that answer.
pub async fn query_pipe<T: redis::FromRedisValue>(
    pipe: &redis::Pipeline,
    con: &mut impl redis::aio::ConnectionLike,
) -> redis::RedisResult<T> {
    if pipe.is_empty() {
        return T::from_redis_value(redis::Value::Array(Vec::new())).map_err(Into::into);
    }
    pipe.query_async(con).await
}
