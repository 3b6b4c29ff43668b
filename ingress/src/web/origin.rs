//! Login-CSRF defence: a form that opens a session (`POST /signin`) must
//! come from one of our own pages. Without it, another site could post its
//! owner's token to `/signin` from a victim's browser and sign the victim
//! into the attacker's tenant (the session cookie is SameSite=Strict, but a
//! sign-in creates the cookie, so there is no session to protect yet).
//!
//! Browsers say where a form came from. `Sec-Fetch-Site` (every current
//! browser) is read first: `same-origin` or `none` (typed in, bookmark)
//! passes, anything else is refused. It matters because our pages send
//! `Referrer-Policy: no-referrer`, under which a browser posts even our own
//! forms with `Origin: null`. Without `Sec-Fetch-Site` (an old browser),
//! `Origin` decides: it must name the `Host` the request was sent to or
//! `PUBLIC_BASE_URL`; `null` is refused. A non-null `Origin` must match in
//! either case. A request with neither header is not from a browser (curl,
//! a script), which cannot be tricked into sending someone else's form, so
//! it passes.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
};

use super::views;
use crate::state::AppState;

/// The request came from our own pages (or not from a browser at all).
pub struct SameOrigin;

/// A form posted from another site: 403, nothing changed.
#[derive(Debug)]
pub struct CrossOrigin;

impl IntoResponse for CrossOrigin {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            views::message::page(
                "Sign-in refused",
                "This sign-in form was sent from another site. Open the sign-in page of this bridge yourself and sign in there. Nothing was changed.",
            ),
        )
            .into_response()
    }
}

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = CrossOrigin;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, CrossOrigin> {
        let state = &app.backend;
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let site = header("sec-fetch-site");
        if let Some(site) = site {
            if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
                tracing::info!(site, "sign-in form from another site refused");
                return Err(CrossOrigin);
            }
        }
        let host = header(header::HOST.as_str()).unwrap_or_default();
        let ok = match header(header::ORIGIN.as_str()) {
            None => true,
            // Our own pages post with `Origin: null` (no-referrer); only a
            // browser that also says `same-origin` is believed.
            Some("null") => site.is_some(),
            Some(origin) => same_origin(origin, host, &state.config.public_base_url),
        };
        if ok {
            Ok(SameOrigin)
        } else {
            tracing::info!("sign-in form from another origin refused");
            Err(CrossOrigin)
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the host the request was
/// sent to, or the public base URL's origin.
fn same_origin(origin: &str, host: &str, public_base_url: &str) -> bool {
    let Ok(o) = url::Url::parse(origin) else {
        return false;
    };
    let Some(o_host) = o.host_str() else {
        return false;
    };
    let authority = match o.port() {
        Some(p) => format!("{o_host}:{p}"),
        None => o_host.to_owned(),
    };
    if !host.is_empty() && authority.eq_ignore_ascii_case(host) {
        return true;
    }
    url::Url::parse(public_base_url).is_ok_and(|p| p.origin() == o.origin())
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn origins() {
        let public = "https://bridge.example.com";
        assert!(same_origin(
            "http://127.0.0.1:8080",
            "127.0.0.1:8080",
            public
        ));
        assert!(same_origin(
            "https://bridge.example.com",
            "10.0.0.5:8080",
            public
        ));
        assert!(same_origin("https://Bridge.Example.com:443", "", public));
        assert!(!same_origin(
            "https://evil.example",
            "127.0.0.1:8080",
            public
        ));
        assert!(!same_origin(
            "http://127.0.0.1:9999",
            "127.0.0.1:8080",
            public
        ));
        assert!(!same_origin("http://bridge.example.com", "", public));
        assert!(!same_origin("null", "127.0.0.1:8080", public));
    }
}
