//! The per-account API budget (`docs/freshservice.md` §6): a sliding window (60 s by default, shorter
//! in tests) of credits, every answered call charging its credits, 429 past the budget
//! with `Retry-After` = whole seconds until enough credits leave the window, and a forced
//! "429 storm" fault.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Outcome of charging a call against the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Charged; `remaining` credits are left in the window.
    Allowed { remaining: u32 },
    /// Over budget (or storm): answer 429 with this `Retry-After`.
    Limited { retry_after_secs: u64 },
}

/// A sliding-window credit budget.
#[derive(Debug)]
pub struct RateLimiter {
    /// Credits per window (the header `X-Ratelimit-Total`).
    pub per_minute: u32,
    /// Window length (60 s in the real API).
    pub window: Duration,
    log: VecDeque<(Instant, u32)>,
    storm_until: Option<Instant>,
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

impl RateLimiter {
    /// A fresh budget.
    pub fn new(per_minute: u32, window: Duration) -> Self {
        RateLimiter {
            per_minute,
            window,
            log: VecDeque::new(),
            storm_until: None,
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some((t, _)) = self.log.front() {
            if now.saturating_duration_since(*t) >= self.window {
                self.log.pop_front();
            } else {
                break;
            }
        }
    }

    /// Credits used in the current window.
    pub fn used(&mut self, now: Instant) -> u32 {
        self.prune(now);
        self.log.iter().map(|(_, c)| *c).sum()
    }

    /// Credits left in the current window.
    pub fn remaining(&mut self, now: Instant) -> u32 {
        self.per_minute.saturating_sub(self.used(now))
    }

    /// Seconds left in a forced storm, if one is on.
    pub fn storm_remaining(&self, now: Instant) -> Option<u64> {
        self.storm_until
            .filter(|t| *t > now)
            .map(|t| ceil_secs(t - now))
    }

    /// Tries to charge `cost` credits.
    pub fn try_charge(&mut self, cost: u32, now: Instant) -> Decision {
        if let Some(secs) = self.storm_remaining(now) {
            return Decision::Limited {
                retry_after_secs: secs,
            };
        }
        let used = self.used(now);
        if used + cost <= self.per_minute {
            self.log.push_back((now, cost));
            return Decision::Allowed {
                remaining: self.per_minute - used - cost,
            };
        }
        // Wait until enough of the oldest charges have left the window.
        let mut freed = 0u32;
        for (t, c) in &self.log {
            freed += c;
            if used - freed + cost <= self.per_minute {
                let wait = (*t + self.window).saturating_duration_since(now);
                return Decision::Limited {
                    retry_after_secs: ceil_secs(wait),
                };
            }
        }
        Decision::Limited {
            retry_after_secs: ceil_secs(self.window),
        }
    }

    /// Forces every call to 429 for `secs` seconds (0 ends a storm).
    pub fn storm(&mut self, secs: u64, now: Instant) {
        self.storm_until = (secs > 0).then(|| now + Duration::from_secs(secs));
    }

    /// Forgets every charge and any storm.
    pub fn reset(&mut self) {
        self.log.clear();
        self.storm_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_and_retry_after() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(3, Duration::from_secs(60));
        assert_eq!(r.try_charge(1, t0), Decision::Allowed { remaining: 2 });
        assert_eq!(
            r.try_charge(2, t0 + Duration::from_secs(10)),
            Decision::Allowed { remaining: 0 }
        );
        // The first credit leaves the window at t0+60.
        assert_eq!(
            r.try_charge(1, t0 + Duration::from_secs(20)),
            Decision::Limited {
                retry_after_secs: 40
            }
        );
        // A 3-credit call must wait for the second charge too (t0+70).
        assert_eq!(
            r.try_charge(3, t0 + Duration::from_secs(20)),
            Decision::Limited {
                retry_after_secs: 50
            }
        );
        assert_eq!(
            r.try_charge(1, t0 + Duration::from_secs(60)),
            Decision::Allowed { remaining: 0 }
        );
    }

    #[test]
    fn storm() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(100, Duration::from_secs(60));
        r.storm(5, t0);
        assert_eq!(
            r.try_charge(1, t0 + Duration::from_millis(500)),
            Decision::Limited {
                retry_after_secs: 5
            }
        );
        assert!(matches!(
            r.try_charge(1, t0 + Duration::from_secs(5)),
            Decision::Allowed { .. }
        ));
    }
}
