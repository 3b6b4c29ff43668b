//! The ingress's calls to a Freshservice account, on the client both
//! services share (`shared/src/freshservice/`): the install check (before a
//! tenant exists, so outside any budget) and the requester fields the
//! settings page and `/Schemas` show (per tenant, so drawn from the same
//! Redis budget the workers use, `shared/src/freshservice/budget.rs`; a 429
//! pauses the workers too). Failures come back in the admin's wording
//! ([`FsCheckError`]).

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::{
    freshservice::{
        fields, http_client, Budget, Call, FsClient, FsError, Grant, RequesterField, UrlTemplate,
    },
    tenant::Tenant,
};

use super::error::FsCheckError;

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
        let domain = tenant.domain.as_str();
        let limit = tenant.rate_limit_per_min.unwrap_or(self.default_limit);
        self.gate(tenant, limit).await?;
        let sent = self
            .client(domain, api_key)
            .send(&Call::requester_fields())
            .await;
        // Keep the shared budget true, as the worker does
        // (`worker/src/converge/api.rs`); a failure here only loses a
        // correction, so it is logged, not shown.
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
        sent.result
            .and_then(|a| a.json())
            .map_err(|e| self.word(domain, e))
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
