//! Brute-force protection: failed sign-ins, installs, uninstalls and SCIM
//! bearer tokens are counted per client address with a keyed governor
//! limiter. Two ways to use it:
//! - [`BruteForce::check`] before an attempt that costs something to
//!   evaluate (an install asks Freshservice): an address over its allowance
//!   is refused with 429 before the attempt is looked at.
//! - [`BruteForce::refused`] after a bearer token was checked and found
//!   wrong: a right token is never refused, whatever its address did
//!   (Okta calls from shared egress addresses, so one misconfigured tenant
//!   must not stop the others); only failures are counted and throttled.

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
        let n = NonZeroU32::new(per_min).unwrap_or(NonZeroU32::MIN);
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

    /// A failed attempt whose secret was already checked: `Some(wait)` if
    /// the address is over its allowance (answer 429), else the failure is
    /// counted and `None` (answer 401).
    pub fn refused(&self, ip: IpAddr) -> Option<Duration> {
        match self.check(ip) {
            Err(wait) => Some(wait),
            Ok(()) => {
                self.failed(ip);
                None
            }
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

    #[test]
    fn refused_counts_failures_then_throttles_them() {
        let b = BruteForce::new(2);
        let a: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(b.refused(a), None);
        assert_eq!(b.refused(a), None);
        assert_eq!(
            b.refused(a),
            None,
            "the one over the allowance blocks the next"
        );
        assert!(b.refused(a).is_some());
        assert!(b.refused(a).is_some());
    }
}
