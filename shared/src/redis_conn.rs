//! Opening Redis. A `ConnectionManager` multiplexes one connection and
//! reconnects by itself after Redis restarts, so callers only see errors for
//! the commands that were in flight.

use redis::aio::ConnectionManager;

pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let cfg = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(2)
        .set_connection_timeout(std::time::Duration::from_secs(2))
        .set_response_timeout(std::time::Duration::from_secs(5));
    ConnectionManager::new_with_config(client, cfg).await
}
