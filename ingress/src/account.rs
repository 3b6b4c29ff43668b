//! The ingress's calls to a Freshservice account, on the client both
//! services share (`shared/src/freshservice/`): the install check (before a
//! tenant exists, so outside any budget), and the requester fields and
//! requester groups the settings page and `/Schemas` show (per tenant, so drawn from the same
//! Redis budget the workers use, `shared/src/freshservice/budget.rs`; a 429
//! pauses the workers too). Failures come back in the admin's wording
//! ([`FsCheckError`]).
//!
//! Outside `web` and `http` because both use it: the admin pages for the
//! install check and the settings page, SCIM `/Schemas` for the custom
//! fields.
//!
//! [`FsCheckError`] is the admin's wording of the shared Freshservice
//! client's failures (`shared/src/freshservice/error.rs`): the install
//! check, the settings page and `/Schemas` name the domain and say what to
//! fix, where the worker keeps Freshservice's own text for the operator.

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::{
    freshservice::{
        client::{self, RequesterGroup},
        fields, http_client, Answer, Budget, Call, FsClient, FsError, Grant, RequesterField,
        Transient, UrlTemplate,
    },
    tenant::Tenant,
};

/// The longest a budget wait is slept before the page gives up and says
/// when to come back (an admin is waiting on the answer).
const INLINE_BUDGET_WAIT: Duration = Duration::from_secs(2);

/// Calls Freshservice for the install check, the settings page and
/// `/Schemas`.
pub struct Accounts {
    http: reqwest::Client,
    template: UrlTemplate,
    timeout: Duration,
    budget: Budget,
    /// Budget of a tenant without its own (`DEFAULT_RATE_LIMIT_PER_MIN`).
    default_limit: u32,
    /// Longest wait for Redis when asking the budget.
    backend_timeout: Duration,
}

impl Accounts {
    pub fn new(
        template: UrlTemplate,
        timeout: Duration,
        budget: Budget,
        default_limit: u32,
        backend_timeout: Duration,
    ) -> Self {
        Self {
            http: http_client(timeout),
            template,
            timeout,
            budget,
            default_limit,
            backend_timeout,
        }
    }

    fn client(&self, domain: &str, api_key: &str) -> FsClient {
        FsClient::for_domain(self.http.clone(), &self.template, domain, api_key)
    }

    fn word(&self, domain: &str, e: FsError) -> FsCheckError {
        FsCheckError::from_fs(e, domain, self.template.host(domain), self.timeout)
    }

    /// Checks that `domain` (already normalised) exists, that `api_key`
    /// opens it, and that the key may manage requesters. Returns the
    /// account's requester fields (the first call).
    pub async fn validate(
        &self,
        domain: &str,
        api_key: &str,
    ) -> Result<Vec<RequesterField>, FsCheckError> {
        let client = self.client(domain, api_key);
        let sent = client.send(&Call::requester_fields()).await;
        let body = sent
            .result
            .and_then(|a| a.json())
            .map_err(|e| self.word(domain, e))?;
        // Requester fields are readable by any agent; listing requesters
        // needs the admin rights the worker will use.
        client
            .send(&Call::list_requesters_page())
            .await
            .result
            .map_err(|e| self.word(domain, e))?;
        Ok(fields::by_position(fields::parse(&body)))
    }

    /// The tenant's requester fields in Freshservice's order, within its
    /// budget.
    pub async fn requester_fields(
        &self,
        tenant: &Tenant,
        api_key: &str,
    ) -> Result<Vec<RequesterField>, FsCheckError> {
        let body = self.requester_fields_raw(tenant, api_key).await?;
        Ok(fields::by_position(fields::parse(&body)))
    }

    /// `GET /api/v2/requester_fields` as Freshservice sent it (the form the
    /// workers cache in Redis), within the tenant's budget.
    pub async fn requester_fields_raw(
        &self,
        tenant: &Tenant,
        api_key: &str,
    ) -> Result<Value, FsCheckError> {
        let answer = self.call(tenant, api_key, Call::requester_fields()).await?;
        answer.json().map_err(|e| self.word(&tenant.domain, e))
    }

    /// The account's requester groups (the first page of 100: enough to
    /// tell the settings page whether Push Groups is safe), within the
    /// tenant's budget.
    pub async fn requester_groups(
        &self,
        tenant: &Tenant,
        api_key: &str,
    ) -> Result<(Vec<RequesterGroup>, bool), FsCheckError> {
        let answer = self
            .call(tenant, api_key, Call::requester_groups_page(1))
            .await?;
        let more = answer.more;
        client::parse_requester_groups(&answer.text)
            .map(|g| (g, more))
            .map_err(|e| self.word(&tenant.domain, e))
    }

    /// One call within the tenant's budget, keeping the budget true as the
    /// worker does (`worker/src/converge/api.rs`): corrected from the rate
    /// headers, paused after a 429. A failed correction only loses a
    /// correction, so it is logged, not shown.
    async fn call(
        &self,
        tenant: &Tenant,
        api_key: &str,
        call: Call,
    ) -> Result<Answer, FsCheckError> {
        let domain = tenant.domain.as_str();
        let limit = tenant.rate_limit_per_min.unwrap_or(self.default_limit);
        self.gate(tenant, limit).await?;
        let sent = self.client(domain, api_key).send(&call).await;
        if let Some(rem) = sent.remaining {
            if let Err(e) = self.budget.correct(&tenant.id, limit, rem).await {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not correct the tenant budget");
            }
        }
        if let Err(FsError::RateLimited { retry_after }) = &sent.result {
            if let Err(e) = self.budget.pause(&tenant.id, *retry_after).await {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not pause the tenant after a 429");
            }
        }
        sent.result.map_err(|e| self.word(domain, e))
    }

    /// Takes one call from the tenant's budget, sleeping a short wait and
    /// refusing a long one.
    async fn gate(&self, tenant: &Tenant, limit: u32) -> Result<(), FsCheckError> {
        let domain = || tenant.domain.clone();
        let started = Instant::now();
        loop {
            let asked = tokio::time::timeout(
                self.backend_timeout,
                self.budget.acquire(&tenant.id, limit, None),
            )
            .await;
            let grant = match asked {
                Ok(Ok(g)) => g,
                Ok(Err(e)) => {
                    tracing::warn!(tenant = %tenant.id, error = %e, "could not ask the tenant budget");
                    return Err(FsCheckError::BudgetUnknown { domain: domain() });
                }
                Err(_) => return Err(FsCheckError::BudgetUnknown { domain: domain() }),
            };
            match grant {
                // No lease is passed, so the script never answers LeaseLost.
                Grant::Go | Grant::LeaseLost => return Ok(()),
                Grant::Wait(d) if started.elapsed() + d <= INLINE_BUDGET_WAIT => {
                    tokio::time::sleep(d).await;
                }
                Grant::Wait(d) => {
                    return Err(FsCheckError::BudgetSpent {
                        domain: domain(),
                        retry_after: d.as_secs().max(1),
                    })
                }
            }
        }
    }
}

/// Why Freshservice refused (or could not be asked about) a domain + key.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FsCheckError {
    #[error("Freshservice has no account called \"{domain}\". Check the domain: it is the part before .freshservice.com in the address you use to sign in to Freshservice (for https://acme.freshservice.com enter acme).")]
    UnknownDomain { domain: String },
    #[error("Freshservice rejected this API key for \"{domain}\". Copy the key again in Freshservice: your profile picture (top right) → Profile Settings → \"Your API Key\", and paste it without spaces.")]
    WrongKey { domain: String },
    #[error("This API key works but its agent lacks admin rights in \"{domain}\", so it cannot create or update requesters. Use the API key of an agent with the Account Admin (or SD Admin) role, ideally a dedicated service agent.")]
    NotAdmin { domain: String },
    #[error("Freshservice did not answer for \"{domain}\" within {secs} s. Try again in a minute; if it keeps failing, check that this bridge can reach {host} (firewall, proxy) and the Freshservice status page.")]
    Timeout {
        domain: String,
        secs: u64,
        host: String,
    },
    #[error("Could not connect to Freshservice for \"{domain}\". Try again in a minute; if it keeps failing, check that this bridge can reach {host} (firewall, proxy, DNS).")]
    Unreachable { domain: String, host: String },
    #[error("Freshservice is rate limiting \"{domain}\" right now (429). Wait {retry_after} s and try again.")]
    RateLimited { domain: String, retry_after: u64 },
    /// The tenant's API budget (shared with the workers) has no call to
    /// spare right now; nothing was sent.
    #[error("The workers are using all of \"{domain}\"'s Freshservice API budget right now, so the bridge did not call Freshservice. Wait {retry_after} s and reload; to leave room for this page, raise the budget below if your plan allows.")]
    BudgetSpent { domain: String, retry_after: u64 },
    /// The budget could not be consulted (Redis did not answer); calling
    /// anyway would bypass it, so nothing was sent.
    #[error("The bridge's state store did not answer, so it did not call Freshservice for \"{domain}\" (the call must count against the account's API budget). Try again in a minute; if it persists, tell whoever runs the bridge.")]
    BudgetUnknown { domain: String },
    #[error("Freshservice answered HTTP {status} for \"{domain}\". Try again in a few minutes; if it persists, contact Freshservice support with the time of this attempt.")]
    Unexpected { domain: String, status: u16 },
}

impl FsCheckError {
    /// Words a failure of a call to `domain` for the admin. `host` and
    /// `timeout` name what to check when no answer came.
    pub fn from_fs(e: FsError, domain: &str, host: String, timeout: Duration) -> Self {
        let domain = domain.to_string();
        match e {
            FsError::Credentials { status: 403, .. } => Self::NotAdmin { domain },
            FsError::Credentials { .. } => Self::WrongKey { domain },
            // Freshservice redirects unknown accounts to its signup page.
            FsError::NotFound | FsError::Redirected { .. } => Self::UnknownDomain { domain },
            FsError::RateLimited { retry_after } => Self::RateLimited {
                domain,
                retry_after: retry_after.as_secs().max(1),
            },
            FsError::Retryable { cause, .. } => match cause {
                Transient::Timeout => Self::Timeout {
                    domain,
                    secs: timeout.as_secs().max(1),
                    host,
                },
                // A name that does not resolve is an unknown account.
                Transient::UnknownHost => Self::UnknownDomain { domain },
                Transient::Connection | Transient::Answer => Self::Unreachable { domain, host },
                Transient::Status(status) => Self::Unexpected { domain, status },
            },
            FsError::Permanent { status, .. } => Self::Unexpected { domain, status },
            // Only a write can be told an email is taken; the ingress reads.
            FsError::DuplicateEmail { .. } => Self::Unexpected {
                domain,
                status: 409,
            },
        }
    }
}
