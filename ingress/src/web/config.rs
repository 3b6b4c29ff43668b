//! Settings of the admin pages: part of `IngressConfig` (read with the rest
//! of the ingress's configuration; the README's table lists them).

pub use crate::config::WebConfig;
