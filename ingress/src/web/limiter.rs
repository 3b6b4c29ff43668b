//! Brute-force protection: failed sign-ins, installs and uninstalls are
//! counted per client address with a keyed governor limiter. An address
//! that used up its allowance is refused with 429 (and `Retry-After`)
//! before its next attempt is even looked at.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures per address, and the addresses currently refused.
pub struct BruteForce {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl BruteForce {
    /// Allows `per_min` failures per minute per address (as a burst, then
    /// one more every `60 / per_min` seconds).
    pub fn new(per_min: u32) -> Self {
        let n = NonZeroU32::new(per_min.max(1)).expect("max(1) is non-zero");
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` if the address must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match blocked.get(&ip) {
            Some(until) if *until > now => Err(*until - now),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; the address is refused once it is over
    /// its allowance, until the limiter would let it through again.
    pub fn failed(&self, ip: IpAddr) {
        if let Err(not_until) = self.limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            if blocked.len() > 100_000 {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                self.limiter.retain_recent();
            }
            blocked.insert(ip, Instant::now() + wait.max(Duration::from_secs(1)));
            tracing::warn!(client = %ip, wait_secs = wait.as_secs(), "too many failed admin attempts from this address");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_allowance_per_address() {
        let b = BruteForce::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(b.check(a).is_ok());
            b.failed(a);
        }
        assert!(b.check(a).is_ok(), "the allowance itself is not refused");
        b.failed(a);
        let wait = b.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(21),
            "{wait:?}"
        );
        assert!(b.check(other).is_ok());
    }
}
