//! Pure SCIM 2.0 core of the ingress (RFC 7643 / RFC 7644), shaped by what Okta sends.
//!
//! Everything here is I/O free: parsing and matching filters, applying PATCH
//! operations, normalising and validating User documents, list paging and
//! projection, discovery documents, and the SCIM error type (the only thing
//! that touches axum, through `IntoResponse`). The HTTP handlers and the Redis
//! store call into these functions; they hold no state of their own.
//!
//! Stored form of a User (see [`user`]): the request body normalised, without
//! `schemas`, `id`, `meta`, `groups` or `password`; [`user::render`] adds the
//! server-owned parts back. [`filter::Filter::matches`] expects the rendered
//! resource so that `id` and `meta.*` can be filtered on.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod list;
pub mod patch;
pub mod path;
pub mod schema;
pub mod user;

pub use discovery::CustomFieldSchema;
pub use error::{ScimError, ScimType};
pub use filter::{Filter, IndexedAttr};
pub use list::ListParams;
pub use user::Meta;

/// Core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// ListResponse message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PatchOp message (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error message (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// SearchRequest message (RFC 7644 §3.4.3), the body of `POST /Users/.search` and `/.search`.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Media type of every SCIM answer (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

#[cfg(test)]
mod tests;
