//! The tenant's API budget (`docs/architecture.md` §3, invariant 5): one GCRA
//! limiter per tenant, kept in Redis (`Keys::rate`) and run as a Lua script so
//! every worker process, and the ingress's per-tenant calls, draw from the
//! same budget. It is corrected by Freshservice's `X-Ratelimit-Remaining` and
//! paused for everyone by a 429. The same script checks the tenant's 429 pause
//! (`Keys::pause`) and renews the caller's user lease (when it has one), so a
//! call costs one Redis round trip before it goes out. governor smooths calls
//! inside one process so a burst of local tasks does not hammer Redis with
//! denied attempts.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::keys::Keys;
use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use redis::{aio::ConnectionManager, Script};

/// GCRA state is the theoretical arrival time (µs, Redis clock). A call is
/// allowed when it is at most `tau` ahead of now; it then moves on by one
/// emission interval. KEYS: rate, pause, lease. ARGV: interval µs, tau µs,
/// lease token ('' = no lease), lease ttl ms.
/// Returns {1, 0} allowed, {0, wait_ms} denied, {-1, 0} lease lost.
const ACQUIRE: &str = r#"
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[3] then return {-1, 0} end
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
local p = redis.call('PTTL', KEYS[2])
if p > 0 then return {0, p} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tau then return {0, math.ceil((tat - now - tau) / 1000)} end
local new = tat + T
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {1, 0}
"#;

/// Freshservice says only `remaining` calls are left: move the arrival time
/// so that at most that many go out at once. Only ever tightens.
/// KEYS: rate. ARGV: interval µs, tau µs, remaining.
const CORRECT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local r = tonumber(ARGV[3])
local want = now + tau - (r - 1) * T
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if want > tat then
  redis.call('SET', KEYS[1], string.format('%.0f', want), 'PX', math.ceil((want - now) / 1000) + 1000)
  return 1
end
return 0
"#;

/// Sets the pause unless a longer one is already set. KEYS: pause. ARGV: ms.
const PAUSE: &str = r#"
local cur = redis.call('PTTL', KEYS[1])
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
"#;

/// How a per-window limit becomes GCRA parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// Calls allowed back to back from idle.
    pub burst: u32,
    /// Time between calls at the sustained rate.
    pub interval: Duration,
    /// The most calls any window of the configured length can hold.
    pub max_per_window: u32,
}

impl Sizing {
    /// Keeps every window of length `window` at or below `limit`: GCRA lets
    /// through `window / interval + burst` calls in a window, so the
    /// sustained rate is `limit - burst - margin`. The margin of one percent
    /// (at least two calls from a limit of 20 up, one below) absorbs the
    /// gap between when the bridge sends a call and when Freshservice counts
    /// it, and the one extra call a window's two edges can both catch.
    pub fn new(limit: u32, window: Duration) -> Sizing {
        let limit = limit.max(2);
        let margin = (limit / 100).max((limit / 10).min(2)).max(1);
        let usable = limit - margin;
        let burst = (usable / 20).clamp(1, 50);
        let sustained = (usable - burst).max(1);
        let interval = window / sustained;
        Sizing {
            burst,
            interval,
            max_per_window: sustained + burst,
        }
    }

    fn interval_us(&self) -> u64 {
        self.interval.as_micros() as u64
    }

    fn tau_us(&self) -> u64 {
        self.interval_us() * (self.burst as u64 - 1)
    }
}

/// The answer to "may this call go out now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Go,
    /// Not before this long (budget spent or tenant paused).
    Wait(Duration),
    /// The user's lease is no longer ours: stop writing.
    LeaseLost,
}

/// The caller's user lease, renewed with every granted call.
pub struct LeaseRef<'a> {
    pub key: &'a str,
    pub token: u64,
    pub ttl: Duration,
}

pub struct Budget {
    redis: ConnectionManager,
    keys: Keys,
    window: Duration,
    acquire: Script,
    correct: Script,
    pause: Script,
    local: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl Budget {
    pub fn new(redis: ConnectionManager, keys: Keys, window: Duration) -> Self {
        Self {
            redis,
            keys,
            window,
            acquire: Script::new(ACQUIRE),
            correct: Script::new(CORRECT),
            pause: Script::new(PAUSE),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn local(&self, tenant: &str, limit: u32) -> Arc<DefaultDirectRateLimiter> {
        let mut map = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((l, g)) = map.get(tenant) {
            if *l == limit {
                return g.clone();
            }
        }
        let s = Sizing::new(limit, self.window);
        let quota = Quota::with_period(s.interval.max(Duration::from_micros(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(s.burst).unwrap_or(NonZeroU32::MIN));
        let g = Arc::new(RateLimiter::direct(quota));
        map.insert(tenant.to_string(), (limit, g.clone()));
        g
    }

    /// Asks for one call of `tenant`'s budget (`limit` per window).
    pub async fn acquire(
        &self,
        tenant: &str,
        limit: u32,
        lease: Option<LeaseRef<'_>>,
    ) -> Result<Grant, redis::RedisError> {
        let local = self.local(tenant, limit);
        if let Err(not_until) = local.check() {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            return Ok(Grant::Wait(wait.max(Duration::from_millis(1))));
        }
        let s = Sizing::new(limit, self.window);
        let mut r = self.redis.clone();
        let mut inv = self.acquire.prepare_invoke();
        inv.key(self.keys.rate(tenant))
            .key(self.keys.pause(tenant))
            .key(
                lease
                    .as_ref()
                    .map(|l| l.key.to_string())
                    .unwrap_or_else(|| self.keys.lease(tenant, "-")),
            )
            .arg(s.interval_us())
            .arg(s.tau_us())
            .arg(
                lease
                    .as_ref()
                    .map(|l| l.token.to_string())
                    .unwrap_or_default(),
            )
            .arg(
                lease
                    .as_ref()
                    .map(|l| l.ttl.as_millis() as u64)
                    .unwrap_or(0),
            );
        let (code, wait_ms): (i64, i64) = inv.invoke_async(&mut r).await?;
        Ok(match code {
            1 => Grant::Go,
            -1 => Grant::LeaseLost,
            _ => Grant::Wait(Duration::from_millis(wait_ms.max(1) as u64)),
        })
    }

    /// Freshservice reported `remaining` calls left in its window.
    pub async fn correct(
        &self,
        tenant: &str,
        limit: u32,
        remaining: u32,
    ) -> Result<(), redis::RedisError> {
        let s = Sizing::new(limit, self.window);
        // Only worth a round trip when Freshservice is tighter than a burst.
        if remaining >= s.burst {
            return Ok(());
        }
        let mut r = self.redis.clone();
        let _: i64 = self
            .correct
            .key(self.keys.rate(tenant))
            .arg(s.interval_us())
            .arg(s.tau_us())
            .arg(remaining)
            .invoke_async(&mut r)
            .await?;
        Ok(())
    }

    /// A 429: every worker holds this tenant's calls for `d`.
    pub async fn pause(&self, tenant: &str, d: Duration) -> Result<(), redis::RedisError> {
        let mut r = self.redis.clone();
        let _: i64 = self
            .pause
            .key(self.keys.pause(tenant))
            .arg(d.as_millis().max(1) as u64)
            .invoke_async(&mut r)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls GCRA lets through in the worst window: `window / interval`
    /// (rounded up, the window may hold both ends) plus the burst.
    fn worst_window(s: &Sizing, window: Duration) -> u64 {
        (window.as_micros() as u64).div_ceil(s.interval.as_micros() as u64) + s.burst as u64
    }

    #[test]
    fn sizing_never_exceeds_the_limit_in_a_window() {
        let w = Duration::from_secs(60);
        for limit in [2, 10, 30, 100, 120, 400, 6000] {
            let s = Sizing::new(limit, w);
            assert!(worst_window(&s, w) <= limit as u64, "{limit}: {s:?}");
            assert!(s.burst >= 1);
        }
    }

    #[test]
    fn sizing_uses_most_of_a_large_budget() {
        let s = Sizing::new(6000, Duration::from_secs(60));
        assert!(s.max_per_window >= 5900, "{s:?}");
        assert_eq!(s.burst, 50);
        let s = Sizing::new(30, Duration::from_secs(10));
        assert_eq!(s.max_per_window, 28, "two calls of margin on small budgets");
    }
}
