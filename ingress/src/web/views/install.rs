//! The install page (`GET /`), also the answer of `POST /install`: the form,
//! then the bearer token shown once and the steps to take in Okta.

use axum::response::Html;
use maud::{html, Markup};

use super::{copy_field, layout, Nav};
use crate::web::install::InstallResponse;

fn okta_steps(scim_base: &str) -> Markup {
    html! {
        ol.steps {
            li { "In Okta's admin console open your Freshservice app → " strong { "Provisioning" } " tab → " strong { "Configure API Integration" } "." }
            li { "Tick " strong { "Enable API Integration" } ". If Okta asks for a base URL, use " code { (scim_base) } "." }
            li { "Paste the bearer token into " strong { "API Token" } ", press " strong { "Test API Credentials" } ", then " strong { "Save" } "." }
            li { "Under " strong { "To App" } " press " strong { "Edit" } " and enable " strong { "Create Users" } " and " strong { "Update User Attributes" } " (and " strong { "Deactivate Users" } " to deactivate requesters). Save." }
            li { "Custom fields: add each one in Okta's Profile Editor with the External Name and Namespace shown on the " a href="/settings" { "settings page" } ", then map it under " strong { "To App" } "." }
            li { "Assign people to the app; watch them arrive on the " a href="/status" { "status page" } "." }
        }
    }
}

/// `GET /` and the answer of `POST /install`.
pub fn page(
    scim_base: &str,
    done: Option<&InstallResponse>,
    error: Option<(&str, &str)>,
    domain: &str,
) -> Html<String> {
    let body = html! {
        @if let Some(out) = done {
            section #result aria-labelledby="result-h" {
                h2 #result-h { "Connected to " (out.domain) ".freshservice.com" }
                @if out.replaced {
                    p.warn role="alert" { "This account was already connected: the previous bearer token has been revoked. Paste the new one into Okta now; provisioning fails until you do." }
                }
                p.important { strong { "Copy the bearer token now." } " It is shown only this once; the bridge keeps only a hash of it. If you lose it, install again to get a new one." }
                (copy_field("token", "Bearer token", &out.bearer_token))
                (copy_field("scim-base", "SCIM base URL", &out.scim_base_url))
                h2 { "Next, in Okta" }
                (okta_steps(&out.scim_base_url))
            }
        } @else {
            p { "Connect a Freshservice account: the bridge checks the domain and API key with Freshservice, then gives you the bearer token to paste into Okta." }
            div #install-error role="alert" .error hidden[error.is_none()] {
                @if let Some((msg, _)) = error { (msg) }
            }
            form #install-form method="post" action="/install" novalidate {
                div.field {
                    label for="domain" { "Freshservice domain" }
                    input #domain name="domain" type="text" required autocomplete="off" spellcheck="false"
                        placeholder="acme" value=(domain) aria-describedby="domain-help";
                    p.help #domain-help { "acme, acme.freshservice.com or https://acme.freshservice.com" }
                }
                div.field {
                    label for="api_key" { "Admin API key" }
                    input #api_key name="api_key" type="password" required autocomplete="off" spellcheck="false" aria-describedby="key-help";
                    p.help #key-help { "In Freshservice: your profile picture → Profile Settings → Your API Key. Use an agent with admin rights (a dedicated service agent is best)." }
                }
                div.field #replace-field hidden[error.map(|e| e.1) != Some("already_installed")] {
                    label.check {
                        input #replace name="replace" type="checkbox" value="1";
                        " Replace the existing installation: the current bearer token stops working at once."
                    }
                }
                button #install-submit type="submit" { "Check and install" }
            }
            section #result hidden aria-labelledby="result-h" {
                h2 #result-h { "Connected" }
                p.warn #replaced-note role="alert" hidden { "This account was already connected: the previous bearer token has been revoked. Paste the new one into Okta now; provisioning fails until you do." }
                p.important { strong { "Copy the bearer token now." } " It is shown only this once; the bridge keeps only a hash of it. If you lose it, install again to get a new one." }
                (copy_field("token", "Bearer token", ""))
                (copy_field("scim-base", "SCIM base URL", scim_base))
                h2 { "Next, in Okta" }
                (okta_steps(scim_base))
            }
            p.aside { "Already installed? " a href="/signin" { "Sign in" } " to see settings and status." }
        }
    };
    layout("Install", Nav::Install, None, body)
}
