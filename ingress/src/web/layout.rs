//! The admin pages' HTML (maud: every interpolation is escaped). One
//! layout, then one function per page. Pages use landmarks, labels tied to
//! inputs, `role="alert"` for errors and `aria-live` for refreshed parts.

use std::time::Duration;

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};
use shared::{
    freshservice::{fields::OKTA_NAMESPACE, Choice, RequesterField},
    tenant::Tenant,
};

use super::{
    install::InstallResponse,
    status::{Health, StatusView, UserStatus},
};

/// Which tab is current.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nav {
    Install,
    Settings,
    Status,
    None,
}

fn layout(title: &str, nav: Nav, csrf: Option<&str>, body: Markup) -> Html<String> {
    let link = |href: &str, label: &str, me: Nav| {
        html! {
            @if nav == me { a href=(href) aria-current="page" { (label) } } @else { a href=(href) { (label) } }
        }
    };
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " · Okta → Freshservice bridge" }
                    link rel="stylesheet" href="/assets/app.css";
                    script src="/assets/app.js" defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        span.brand { "Okta → Freshservice bridge" }
                        nav aria-label="Main" {
                            (link("/", "Install", Nav::Install))
                            (link("/settings", "Settings", Nav::Settings))
                            (link("/status", "Status", Nav::Status))
                            @if let Some(csrf) = csrf {
                                form.inline method="post" action="/signout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    main id="main" { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

fn copy_field(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.copyrow {
            label for=(id) { (label) }
            div.copybox {
                input id=(id) type="text" readonly value=(value) spellcheck="false" autocomplete="off";
                button.copy type="button" data-copy=(id) aria-label={ "Copy " (label) } { "Copy" }
            }
        }
    }
}

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
pub fn install_page(
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

/// `GET /signin`.
pub fn signin_page(next: &str, error: Option<&str>) -> Html<String> {
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

/// A page with one message (errors, uninstall).
pub fn message_page(title: &str, text: &str) -> Html<String> {
    layout(
        title,
        Nav::None,
        None,
        html! { p role="alert" { (text) } p { a href="/" { "Install page" } " · " a href="/settings" { "Settings" } " · " a href="/status" { "Status" } } },
    )
}

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
pub fn settings_page(
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

/// `2026-01-02 03:04:05 UTC` from RFC 3339 (as given when unparsable).
fn short_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| s.to_string())
}

fn choices(c: &[Choice]) -> Markup {
    let c: Vec<String> = c.iter().map(Choice::display).collect();
    html! {
        @if c.is_empty() { span.muted { "—" } }
        @else if c.len() > 12 { details { summary { (c.len()) " choices" } (c.join(", ")) } }
        @else { (c.join(", ")) }
    }
}

fn user_rows(users: &[UserStatus]) -> Markup {
    html! {
        table.users {
            thead { tr {
                th scope="col" { "userName" } th scope="col" { "Email" } th scope="col" { "Sync" }
                th scope="col" { "Requester id" } th scope="col" { "Version (applied)" } th scope="col" { "Last error" } th scope="col" { "Updated" }
            } }
            tbody {
                @for u in users {
                    tr data-user=(u.user_name) {
                        th scope="row" { (u.user_name) @if !u.active { " " span.tag { "inactive" } } }
                        td { (u.email) }
                        td { span class={ "badge " (u.label().replace(' ', "-")) } { (u.label()) } }
                        td { (u.requester_id.as_deref().unwrap_or("—")) }
                        td { (u.version) " (" (u.applied_version.map(|v| v.to_string()).unwrap_or_else(|| "—".into())) ")" }
                        td.err { (u.last_error.as_deref().unwrap_or("")) @for w in &u.warnings { br; span.muted { "warning: " (w) } } }
                        td { (u.updated_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
    }
}

/// `GET /status`.
pub fn status_page(v: &StatusView, csrf: &str, refresh: Duration) -> Html<String> {
    let c = &v.counts;
    let body = html! {
        p { "Account " strong { (v.tenant.domain) ".freshservice.com" } ". This page refreshes itself every " (refresh.as_secs().max(1)) " s." }
        @if let Some(n) = &v.notice { p.ok role="status" { (n) } }
        div #live data-refresh-ms=(refresh.as_millis()) aria-live="polite" {
            section aria-labelledby="state-h" {
                h2 #state-h { "State" }
                @match &v.health {
                    Health::Active => p #tenant-state .ok { "Active: changes flow to Freshservice." },
                    Health::Paused { until } => p #tenant-state .warn { "Paused for Freshservice's rate limit (429) until " (until) ". Changes wait and resume on their own." },
                    Health::CredentialsRejected { reason } => p #tenant-state .error { "Credentials rejected: Freshservice refused the API key (" (reason) "). Changes are kept. Enter a valid admin key on the " a href="/settings" { "settings page" } " to resume." },
                }
            }
            section aria-labelledby="counts-h" {
                h2 #counts-h { "Users" }
                dl.counts {
                    div { dt { "Known" } dd #count-known { (c.known) } }
                    div { dt { "In sync" } dd #count-in-sync { (c.in_sync) } }
                    div { dt { "Pending" } dd #count-pending { (c.pending) } }
                    div { dt { "Failed" } dd #count-failed { (c.failed) } }
                    div { dt { "Changes queued" } dd #queue-depth { @match v.queue_depth { Some(n) => (n), None => "unavailable" } } }
                }
            }
            section aria-labelledby="dead-h" {
                h2 #dead-h { "Dead letters" }
                @match &v.dead {
                    Err(e) => p.error role="alert" { (e) },
                    Ok(list) if list.is_empty() => p #no-dead { "None: every change either reached Freshservice or is still being worked on." },
                    Ok(list) => {
                        p { "Changes Freshservice refused, with its reason. Fix the cause (in Okta or in Freshservice), then replay." }
                        table #dead-letters {
                            thead { tr { th scope="col" { "User" } th scope="col" { "Reason" } th scope="col" { "Class" } th scope="col" { "When" } th scope="col" { span.sr { "Action" } } } }
                            tbody {
                                @for d in list {
                                    tr data-message-id=(d.message_id) {
                                        td {
                                            @if let Some(name) = v.user_names.get(&d.letter.event.id) {
                                                strong { (name) } br;
                                            }
                                            span.muted { "SCIM id " code { (d.letter.event.id) } " · version " (d.letter.event.version) }
                                        }
                                        td.err { (d.letter.reason) }
                                        td { (d.letter.class) }
                                        td { (short_time(&d.letter.at)) }
                                        td {
                                            form method="post" action="/status/replay" {
                                                input type="hidden" name="csrf" value=(csrf);
                                                input type="hidden" name="message_id" value=(d.message_id);
                                                button.replay type="submit" aria-label={ "Replay change of user " (d.letter.event.id) } { "Replay" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !v.failed_users.is_empty() {
                section aria-labelledby="failed-h" {
                    h2 #failed-h { "Failed users" }
                    (user_rows(&v.failed_users))
                }
            }
        }
        section aria-labelledby="search-h" {
            h2 #search-h { "Find a user" }
            form method="get" action="/status" role="search" {
                div.field {
                    label for="q" { "userName or email" }
                    input #q name="q" type="search" value=(v.search.as_ref().map(|s| s.0.as_str()).unwrap_or(""));
                }
                button #search-submit type="submit" { "Search" }
            }
            @if let Some((q, found)) = &v.search {
                div #search-results {
                    @if found.is_empty() { p { "No user with userName or email " strong { (q) } "." } }
                    @else { (user_rows(found)) }
                }
            }
        }
    };
    layout("Status", Nav::Status, Some(csrf), body)
}
