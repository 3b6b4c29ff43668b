//! The sign-in page (`GET /signin`): a bearer token, or a domain and its
//! admin API key.

use axum::response::Html;
use maud::html;

use super::{layout, Nav};

/// `GET /signin`.
pub fn page(next: &str, error: Option<&str>) -> Html<String> {
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        p { "Sign in with the bearer token you pasted into Okta, or with the Freshservice domain and its admin API key." }
        form method="post" action="/signin" {
            input type="hidden" name="next" value=(next);
            fieldset {
                legend { "With the bearer token" }
                div.field {
                    label for="token" { "Bearer token" }
                    input #token name="token" type="password" autocomplete="off" spellcheck="false";
                }
            }
            fieldset {
                legend { "Or with the domain and API key" }
                div.field {
                    label for="domain" { "Freshservice domain" }
                    input #domain name="domain" type="text" autocomplete="off" spellcheck="false" placeholder="acme";
                }
                div.field {
                    label for="api_key" { "Admin API key" }
                    input #api_key name="api_key" type="password" autocomplete="off" spellcheck="false";
                }
            }
            button #signin-submit type="submit" { "Sign in" }
        }
    };
    layout("Sign in", Nav::None, None, body)
}
