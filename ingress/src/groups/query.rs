//! Query planning for `GET /Groups`: an `eq` on displayName, externalId or
//! id is answered from its index; any other filter scans in creation order,
//! a batch at a time. Members are read only when the answer shows them or
//! the filter looks at them (`excludedAttributes=members`, as Entra asks,
//! costs no member read at all).

use serde_json::Value;

use super::{Found, Group, GroupError, Groups};
use crate::scim::{
    filter::{Filter, GroupIndexedAttr},
    list::ListParams,
};

/// Groups read per round of a scan.
const SCAN_BATCH: usize = 200;

/// Whether the answer (or the filter) needs the members.
fn wants_members(params: &ListParams) -> bool {
    let named = |list: &[String]| {
        list.iter().any(|a| {
            a.eq_ignore_ascii_case("members") || a.to_ascii_lowercase().starts_with("members.")
        })
    };
    let shown = !named(&params.excluded_attributes)
        && (params.attributes.is_empty() || named(&params.attributes));
    shown || params.filter.as_ref().is_some_and(Filter::mentions_members)
}

pub(super) async fn find(
    groups: &Groups,
    tenant: &str,
    params: &ListParams,
) -> Result<Found, GroupError> {
    let store = &groups.store;
    let offset = params.start_index.saturating_sub(1);
    let with_members = wants_members(params);
    let render = |stored: Vec<crate::store::StoredGroup>| async move {
        let mut out = Vec::with_capacity(stored.len());
        for s in stored {
            let members = match with_members {
                true => Some(store.members(tenant, &s.id).await?),
                false => None,
            };
            out.push(groups.render(&Group { stored: s, members }));
        }
        Ok::<Vec<Value>, GroupError>(out)
    };
    let Some(filter) = &params.filter else {
        let total = store.count(tenant).await?;
        let ids = store.page_ids(tenant, offset, params.count).await?;
        let page = render(store.get_many(tenant, &ids).await?).await?;
        return Ok(Found {
            total,
            resources: page,
        });
    };
    let matching: Vec<Value> = if let Some((attr, value)) = filter.group_indexed_eq() {
        let ids: Vec<String> = match attr {
            GroupIndexedAttr::DisplayName => store
                .id_by_name(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            GroupIndexedAttr::ExternalId => store
                .id_by_external_id(tenant, &value)
                .await?
                .into_iter()
                .collect(),
            GroupIndexedAttr::Id => vec![value],
        };
        render(store.get_many(tenant, &ids).await?)
            .await?
            .into_iter()
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
                render(store.get_many(tenant, &ids).await?)
                    .await?
                    .into_iter()
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
