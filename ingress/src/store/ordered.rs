//! The two sorted-set reads users and groups share: a page of ids in
//! creation order, and the outbox entries older than a cutoff with the
//! version each resource holds now (for the sweeper, `ingress/src/outbox.rs`).

use redis::{aio::ConnectionManager, AsyncCommands};

use super::StoreError;

/// Ids of `zset` in score order, `offset`-based (stable across pages).
pub(super) async fn page(
    redis: &ConnectionManager,
    zset: String,
    offset: usize,
    count: usize,
) -> Result<Vec<String>, StoreError> {
    if count == 0 {
        return Ok(vec![]);
    }
    let stop = (offset + count - 1) as isize;
    Ok(redis.clone().zrange(zset, offset as isize, stop).await?)
}

/// Up to `limit` ids of the outbox `zset` written before `older_than_ms`,
/// each with the `version_field` of its hash (`hash_of(id)`); ids whose
/// hash is gone are left out.
pub(super) async fn unpublished(
    redis: &ConnectionManager,
    zset: String,
    hash_of: impl Fn(&str) -> String,
    version_field: &str,
    older_than_ms: i64,
    limit: usize,
) -> Result<Vec<(String, u64)>, StoreError> {
    let ids: Vec<String> = redis
        .clone()
        .zrangebyscore_limit(zset, "-inf", older_than_ms, 0, limit as isize)
        .await?;
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hget(hash_of(id), version_field);
    }
    let versions: Vec<Option<u64>> =
        shared::redis_conn::query_pipe(&pipe, &mut redis.clone()).await?;
    Ok(ids
        .into_iter()
        .zip(versions)
        .filter_map(|(id, v)| v.map(|v| (id, v)))
        .collect())
}
