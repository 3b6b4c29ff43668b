//! Faults an account can be switched into at run time (`PUT /_sim/accounts/{domain}/faults`):
//! added latency, a share of 5xx answers, a share of dropped connections (closed before
//! any work), a share of "commit then drop" writes (work done, answer lost) or a count of
//! the next writes to treat so, a forced
//! 429 storm (kept in the rate limiter), revoked API keys, and a redirect of every call
//! to another address (what Freshservice does for an account that moved or is gone).

use serde::{Deserialize, Serialize};

/// The current fault settings of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every API call before anything else.
    pub latency_ms: u64,
    /// Share (0..1) of calls answered with one of `error_statuses` instead of doing the work.
    pub error_rate: f64,
    /// Statuses an error fault picks from (500/502/503 by default).
    pub error_statuses: Vec<u16>,
    /// Share (0..1) of calls whose connection is closed without an answer, before the work.
    pub drop_rate: f64,
    /// Share (0..1) of POST/PUT calls that do the work and then close the connection
    /// without an answer.
    pub drop_after_commit_rate: f64,
    /// The next this many POST/PUT/DELETE calls do the work and then close the
    /// connection without an answer (counted down; deterministic, unlike the rate).
    pub drop_after_commit_next: u32,
    /// Every API key of the account answers 401.
    pub revoke_keys: bool,
    /// Every API call is answered `302 Found` with `Location` set to this base URL
    /// followed by the call's path under the account and its query, before any other
    /// work (nothing is charged to the budget).
    pub redirect_to: Option<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            error_statuses: vec![500, 502, 503],
            drop_rate: 0.0,
            drop_after_commit_rate: 0.0,
            drop_after_commit_next: 0,
            revoke_keys: false,
            redirect_to: None,
        }
    }
}

/// A change to the fault settings; a missing field is left as it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    pub latency_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub error_statuses: Option<Vec<u16>>,
    pub drop_rate: Option<f64>,
    pub drop_after_commit_rate: Option<f64>,
    pub drop_after_commit_next: Option<u32>,
    /// Starts a storm of forced 429s for this many seconds (0 ends one).
    pub rate_limit_storm_secs: Option<u64>,
    pub revoke_keys: Option<bool>,
    /// `http(s)://…` starts redirecting every call there; `""` stops it.
    pub redirect_to: Option<String>,
}

/// Why a fault patch was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("{0} must be between 0 and 1")]
    Share(&'static str),
    #[error("error_statuses must be non-empty statuses between 500 and 599")]
    Statuses,
    #[error("redirect_to must be an http:// or https:// URL, or \"\" to stop redirecting")]
    RedirectTarget,
}

impl Faults {
    /// Applies a patch (validated first; nothing changes on error).
    pub fn apply(&mut self, p: &FaultsPatch) -> Result<(), FaultError> {
        for (name, v) in [
            ("error_rate", p.error_rate),
            ("drop_rate", p.drop_rate),
            ("drop_after_commit_rate", p.drop_after_commit_rate),
        ] {
            if let Some(x) = v {
                if !(0.0..=1.0).contains(&x) {
                    return Err(FaultError::Share(name));
                }
            }
        }
        if let Some(s) = &p.error_statuses {
            if s.is_empty() || s.iter().any(|x| !(500..=599).contains(x)) {
                return Err(FaultError::Statuses);
            }
        }
        if let Some(to) = &p.redirect_to {
            if !to.is_empty()
                && url::Url::parse(to).map_or(true, |u| !u.scheme().starts_with("http"))
            {
                return Err(FaultError::RedirectTarget);
            }
        }
        if let Some(x) = p.latency_ms {
            self.latency_ms = x;
        }
        if let Some(x) = p.error_rate {
            self.error_rate = x;
        }
        if let Some(x) = &p.error_statuses {
            self.error_statuses = x.clone();
        }
        if let Some(x) = p.drop_rate {
            self.drop_rate = x;
        }
        if let Some(x) = p.drop_after_commit_rate {
            self.drop_after_commit_rate = x;
        }
        if let Some(x) = p.drop_after_commit_next {
            self.drop_after_commit_next = x;
        }
        if let Some(x) = p.revoke_keys {
            self.revoke_keys = x;
        }
        if let Some(to) = &p.redirect_to {
            self.redirect_to = (!to.is_empty()).then(|| to.trim_end_matches('/').to_string());
        }
        Ok(())
    }
}
