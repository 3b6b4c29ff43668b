//! Query planning for `GET /Users` and `POST .search`: which ids to read
//! for a filter. An `eq` on an indexed attribute (userName, externalId,
//! an email, id) is answered from its index, never a scan; any other
//! filter scans in creation order, a batch at a time. Filters match the
//! rendered resource, so each user read is rendered once.

use serde_json::Value;

use super::{Found, UserError, Users};
use crate::scim::{filter::IndexedAttr, list::ListParams};

/// Users read per round of a scan.
const SCAN_BATCH: usize = 500;

pub(super) async fn find(
    users: &Users,
    tenant: &str,
    params: &ListParams,
) -> Result<Found, UserError> {
    let store = &users.store;
    let offset = params.start_index.saturating_sub(1);
    let Some(filter) = &params.filter else {
        let total = store.count(tenant).await?;
        let ids = store.page_ids(tenant, offset, params.count).await?;
        let page = store.get_many(tenant, &ids).await?;
        return Ok(Found {
            total,
            resources: page.iter().map(|u| users.render(u)).collect(),
        });
    };
    let matching: Vec<Value> = if let Some((attr, value)) = filter.indexed_eq() {
        let ids = match attr {
            IndexedAttr::UserName => store
                .id_by_user_name(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            IndexedAttr::ExternalId => store
                .id_by_external_id(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            IndexedAttr::Email => store.ids_by_email(tenant, &value).await?,
            IndexedAttr::Id => vec![value],
        };
        store
            .get_many(tenant, &ids)
            .await?
            .iter()
            .map(|u| users.render(u))
            .filter(|r| filter.matches(r))
            .collect()
    } else {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let ids = store.page_ids(tenant, at, SCAN_BATCH).await?;
            if ids.is_empty() {
                break;
            }
            at += ids.len();
            out.extend(
                store
                    .get_many(tenant, &ids)
                    .await?
                    .iter()
                    .map(|u| users.render(u))
                    .filter(|r| filter.matches(r)),
            );
        }
        out
    };
    Ok(Found {
        total: matching.len(),
        resources: matching
            .into_iter()
            .skip(offset)
            .take(params.count)
            .collect(),
    })
}
