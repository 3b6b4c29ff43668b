//! A tenant's settings (`Keys::settings`): the mapping editor's choices
//! ([`MappingSettings`]) and what a SCIM DELETE does for this tenant. Saved
//! by the settings page (`ingress/src/web/settings.rs`), read by the worker
//! on every convergence (`worker/src/converge/mod.rs`). One JSON string;
//! every member has a default, so a tenant that never saved the page reads
//! as the shipped behaviour.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::RecordError;
use crate::keys::Keys;
use crate::mapping::MappingSettings;

/// What a SCIM DELETE does in Freshservice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// Deactivate the requester (DELETE /requesters/{id}); it can come back.
    Deactivate,
    /// Permanently delete (DELETE /requesters/{id}/forget), tickets included.
    Forget,
}

impl std::str::FromStr for DeleteMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "deactivate" => Ok(Self::Deactivate),
            "forget" => Ok(Self::Forget),
            _ => Err("expected `deactivate` or `forget`".into()),
        }
    }
}

impl DeleteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteMode::Deactivate => "deactivate",
            DeleteMode::Forget => "forget",
        }
    }
}

/// One tenant's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    #[serde(default)]
    pub mapping: MappingSettings,
    /// `None`: the worker's `SCIM_DELETE_MODE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<DeleteMode>,
}

impl TenantSettings {
    pub fn decode(text: Option<&str>) -> Result<TenantSettings, RecordError> {
        match text {
            None => Ok(TenantSettings::default()),
            Some(t) => serde_json::from_str(t).map_err(|e| RecordError::Invalid {
                field: "settings",
                reason: e.to_string(),
            }),
        }
    }

    pub fn encode(&self) -> String {
        // A struct of plain members always serialises.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The tenant's settings; the shipped ones when it never saved any.
    pub async fn load<C: AsyncCommands>(
        redis: &mut C,
        keys: &Keys,
        tenant: &str,
    ) -> Result<Result<TenantSettings, RecordError>, redis::RedisError> {
        let text: Option<String> = redis.get(keys.settings(tenant)).await?;
        Ok(TenantSettings::decode(text.as_deref()))
    }

    pub async fn save<C: AsyncCommands>(
        &self,
        redis: &mut C,
        keys: &Keys,
        tenant: &str,
    ) -> Result<(), redis::RedisError> {
        redis.set(keys.settings(tenant), self.encode()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Row;

    #[test]
    fn nothing_stored_is_the_shipped_behaviour() {
        assert_eq!(TenantSettings::decode(None), Ok(TenantSettings::default()));
        assert_eq!(
            TenantSettings::decode(Some("{}")),
            Ok(TenantSettings::default())
        );
    }

    #[test]
    fn round_trip() {
        let mut s = TenantSettings {
            on_delete: Some(DeleteMode::Forget),
            ..TenantSettings::default()
        };
        s.mapping.off.insert(Row::Address);
        let text = s.encode();
        assert_eq!(
            text,
            r#"{"mapping":{"off":["address"],"enterprise":{},"create_missing_departments":false,"released":[]},"on_delete":"forget"}"#
        );
        assert_eq!(TenantSettings::decode(Some(&text)), Ok(s));
        assert!(TenantSettings::decode(Some("[")).is_err());
    }
}
