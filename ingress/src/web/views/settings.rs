//! The settings page (`GET /settings`): custom requester fields with their
//! Okta External Names, the default mapping, the API budget, replacing the
//! API key, uninstall.

use axum::response::Html;
use maud::{html, Markup};
use shared::{
    freshservice::{fields::OKTA_NAMESPACE, Choice, RequesterField},
    tenant::Tenant,
};

use super::{layout, Nav};

const MAPPING: &[(&str, &str)] = &[
    ("name.givenName", "first_name"),
    ("name.familyName", "last_name"),
    (
        "emails[primary eq true].value (else userName)",
        "primary_email",
    ),
    ("title", "job_title"),
    ("phoneNumbers[type eq \"work\"].value", "work_phone_number"),
    (
        "phoneNumbers[type eq \"mobile\"].value",
        "mobile_phone_number",
    ),
    (
        "addresses[type eq \"work\"] (whole address)",
        "address (one string)",
    ),
    ("locale (e.g. en_US)", "language (Freshservice code)"),
    (
        "timezone (IANA, e.g. America/Los_Angeles)",
        "time_zone (Freshservice name)",
    ),
    ("custom_fields.NAME (core namespace)", "custom_fields.NAME"),
    ("active false / true", "deactivate / reactivate"),
];

/// `GET /settings`.
pub fn page(
    t: &Tenant,
    fields: &Result<Vec<RequesterField>, String>,
    budget: u32,
    budget_is_default: bool,
    csrf: &str,
    notice: Option<(&str, bool)>,
    scim_base: &str,
) -> Html<String> {
    let body = html! {
        p { "Account " strong { (t.domain) ".freshservice.com" } " · installed " (t.created_at) " · SCIM base URL " code { (scim_base) } }
        @if let Some((msg, ok)) = notice {
            @if ok { p.ok role="status" { (msg) } } @else { p.error role="alert" { (msg) } }
        }
        section aria-labelledby="custom-h" {
            h2 #custom-h { "Custom fields for Okta" }
            p { "For each custom requester field you want Okta to fill: in Okta's " strong { "Profile Editor" } " for the Freshservice app, " strong { "Add Attribute" } " with the External Name and External Namespace below, then map it under Provisioning → To App." }
            @match fields {
                Err(e) => { p.error role="alert" { "Could not read the requester fields from Freshservice: " (e) } }
                Ok(fields) => {
                    @let custom: Vec<&RequesterField> = fields.iter().filter(|f| !f.builtin).collect();
                    @if custom.is_empty() {
                        p { "This account has no custom requester fields (Freshservice: Admin → User Fields)." }
                    } @else {
                        table #custom-fields {
                            caption.sr { "Custom requester fields and their Okta attribute names" }
                            thead { tr { th scope="col" { "Label" } th scope="col" { "Type" } th scope="col" { "Choices" } th scope="col" { "Okta External Name" } th scope="col" { "Okta External Namespace" } } }
                            tbody {
                                @for (i, f) in custom.iter().enumerate() {
                                    @let ext = f.okta_external_name().unwrap_or_default();
                                    tr data-field=(f.name) {
                                        th scope="row" { (f.label) @if f.required_for_agents { " " span.tag { "required" } } }
                                        td { (f.kind.trim_start_matches("custom_")) }
                                        td { (choices(&f.choices)) }
                                        td { code.ext-name id={ "ext-" (i) } { (ext) } " " button.copy type="button" data-copy={ "ext-" (i) } aria-label={ "Copy External Name " (ext) } { "Copy" } }
                                        td { code id={ "ns-" (i) } { (OKTA_NAMESPACE) } " " button.copy type="button" data-copy={ "ns-" (i) } aria-label="Copy External Namespace" { "Copy" } }
                                    }
                                }
                            }
                        }
                    }
                    details {
                        summary { "Built-in requester fields (" (fields.iter().filter(|f| f.builtin).count()) ")" }
                        table #builtin-fields {
                            thead { tr { th scope="col" { "Label" } th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Choices" } } }
                            tbody {
                                @for f in fields.iter().filter(|f| f.builtin) {
                                    tr { th scope="row" { (f.label) } td { code { (f.name) } } td { (f.kind.trim_start_matches("default_")) } td { (choices(&f.choices)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="map-h" {
            h2 #map-h { "Default mapping" }
            table {
                thead { tr { th scope="col" { "Okta (SCIM attribute)" } th scope="col" { "Freshservice requester field" } } }
                tbody { @for (a, b) in MAPPING { tr { td { code { (a) } } td { code { (b) } } } } }
            }
        }
        section aria-labelledby="budget-h" {
            h2 #budget-h { "API budget" }
            p { "The bridge keeps all its calls for this account under this many per minute. Set it to your Freshservice plan's limit (Admin → API limits), lower if other integrations use the same account." }
            form method="post" action="/settings/budget" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="rate" { "Calls per minute" @if budget_is_default { " (bridge default)" } }
                    input #rate name="rate_limit_per_min" type="number" min="1" max="100000" required value=(budget);
                }
                button type="submit" { "Save budget" }
            }
        }
        section aria-labelledby="key-h" {
            h2 #key-h { "Replace the API key" }
            p { "If Freshservice started rejecting the key (status page: credentials rejected) or you rotated it, enter the new admin key. It is checked first; the bearer token in Okta keeps working." }
            form method="post" action="/settings/api-key" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="new-key" { "New admin API key" }
                    input #new-key name="api_key" type="password" required autocomplete="off";
                }
                button type="submit" { "Check and save key" }
            }
        }
        section aria-labelledby="un-h" {
            h2 #un-h { "Uninstall" }
            p { "Removes this account from the bridge: the token stops working, the SCIM state and queued changes are dropped. Requesters in Freshservice are not touched." }
            form method="post" action="/settings/uninstall" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="confirm" { "Type " code { (t.domain) } " to confirm" }
                    input #confirm name="confirm_domain" type="text" required autocomplete="off";
                }
                button.danger type="submit" { "Uninstall" }
            }
        }
    };
    layout("Settings", Nav::Settings, Some(csrf), body)
}

fn choices(c: &[Choice]) -> Markup {
    let c: Vec<String> = c.iter().map(Choice::display).collect();
    html! {
        @if c.is_empty() { span.muted { "—" } }
        @else if c.len() > 12 { details { summary { (c.len()) " choices" } (c.join(", ")) } }
        @else { (c.join(", ")) }
    }
}
