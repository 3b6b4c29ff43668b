//! The settings page (`GET /settings`): custom requester fields with their
//! Okta External Names, the mapping editor, the API budget, replacing the
//! API key, uninstall.

use axum::response::Html;
use maud::{html, Markup};
use shared::{
    freshservice::{fields::OKTA_NAMESPACE, Choice, GroupKind, RequesterField, RequesterGroup},
    mapping::{EnterpriseAttr, Row},
    records::settings::{DeleteMode, TenantSettings},
    tenant::{Tenant, TenantState},
};

use super::{layout, Nav};

/// What the settings page shows.
pub struct Page<'a> {
    pub tenant: &'a Tenant,
    /// The account's requester fields, read live (or why not).
    pub fields: &'a Result<Vec<RequesterField>, String>,
    /// The tenant's saved settings (or why they cannot be read).
    pub settings: &'a Result<TenantSettings, String>,
    pub budget: u32,
    pub budget_is_default: bool,
    pub csrf: &'a str,
    pub notice: Option<(&'a str, bool)>,
    pub scim_base: &'a str,
    /// The account's requester groups, read live (the first page, and
    /// whether there are more), or why not: whether Push Groups is safe.
    pub requester_groups: &'a Result<(Vec<RequesterGroup>, bool), String>,
    /// Groups pushed to the bridge so far.
    pub pushed_groups: usize,
}

/// `GET /settings`.
pub fn page(p: Page<'_>) -> Html<String> {
    let Page {
        tenant: t,
        fields,
        settings,
        budget,
        budget_is_default,
        csrf,
        notice,
        scim_base,
        requester_groups,
        pushed_groups,
    } = p;
    let body = html! {
        p { "Account " strong { (t.domain) ".freshservice.com" } " · installed " (t.created_at) " · SCIM base URL " code { (scim_base) } }
        @if let Some((msg, ok)) = notice {
            @if ok { p.ok role="status" { (msg) } } @else { p.error role="alert" { (msg) } }
        }
        @if t.state == TenantState::Paused {
            p #tenant-paused .warn role="status" { "Paused by an operator" @if let Some(r) = &t.state_reason { " (" (r) ")" } ". Okta's changes are accepted and kept; none reaches Freshservice until whoever runs the bridge resumes the tenant. Replacing the API key below does not resume it." }
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
        (mapping_editor(fields, settings, csrf))
        (push_groups(requester_groups, pushed_groups))
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

/// The mapping editor: a checkbox per row, a field per enterprise
/// attribute, missing departments, what a SCIM DELETE does.
fn mapping_editor(
    fields: &Result<Vec<RequesterField>, String>,
    settings: &Result<TenantSettings, String>,
    csrf: &str,
) -> Markup {
    let shipped = TenantSettings::default();
    let s = settings.as_ref().unwrap_or(&shipped);
    let custom: Vec<&RequesterField> = match fields {
        Ok(f) => f.iter().filter(|f| !f.builtin).collect(),
        Err(_) => vec![],
    };
    let delete = s.on_delete.map(DeleteMode::as_str).unwrap_or("default");
    html! {
        section aria-labelledby="map-h" {
            h2 #map-h { "Mapping" }
            @if let Err(e) = settings { p.error role="alert" { (e) } }
            p { "What the bridge writes to each requester. A row switched off is left as Freshservice holds it: the bridge stops writing that field. Changes apply to each user at their next change." }
            form #mapping method="post" action="/settings/mapping" {
                input type="hidden" name="csrf" value=(csrf);
                table {
                    thead { tr { th scope="col" { "Write" } th scope="col" { "Okta (SCIM attribute)" } th scope="col" { "Freshservice requester field" } } }
                    tbody {
                        tr { td { "always" } td { code { "name.givenName" } } td { code { "first_name" } } }
                        tr { td { "always" } td { code { "emails[primary eq true].value" } " (else userName)" } td { code { "primary_email" } } }
                        @for row in Row::ALL {
                            tr data-row=(row.key()) {
                                td { input type="checkbox" id={ "row-" (row.key()) } name={ "row." (row.key()) } checked[s.mapping.is_on(row)] aria-label={ "Write " (row.freshservice()) }; }
                                td { label for={ "row-" (row.key()) } { code { (row.scim()) } } }
                                td { code { (row.freshservice()) } }
                            }
                        }
                        tr { td { "always" } td { code { "active" } } td { "deactivate / reactivate" } }
                    }
                }
                h3 { "Enterprise attributes" }
                p { "Freshservice requesters have no built-in field for these; point each at a custom requester field, or leave it unmapped." }
                @if let Err(e) = fields { p.error role="alert" { "The account's custom fields cannot be read right now (" (e) "), so these cannot be changed until they can." } }
                @for attr in EnterpriseAttr::ALL {
                    @let current = s.mapping.enterprise.get(&attr);
                    div.field {
                        label for={ "ent-" (attr.scim()) } { code { (attr.scim()) } }
                        select id={ "ent-" (attr.scim()) } name={ "enterprise." (attr.scim()) } {
                            option value="" selected[current.is_none()] { "not mapped" }
                            @for f in &custom {
                                option value=(f.name) selected[current == Some(&f.name)] { (f.label) " (" (f.name) ")" }
                            }
                            @if let Some(c) = current.filter(|c| !custom.iter().any(|f| &f.name == *c)) {
                                option value=(c) selected { (c) " (not in this account now)" }
                            }
                        }
                    }
                }
                h3 { "Departments" }
                div.field {
                    input #create-departments type="checkbox" name="create_departments" checked[s.mapping.create_missing_departments];
                    label for="create-departments" { " Create a department Okta names when Freshservice has none of that name (otherwise the requester is written without it and the status page says why)" }
                }
                h3 { "When Okta or Entra deletes a user" }
                fieldset {
                    legend.sr { "What a SCIM DELETE does" }
                    @for (value, text) in [("default", "the workers' setting (SCIM_DELETE_MODE, deactivate unless changed)"), ("deactivate", "deactivate the requester (it can come back)"), ("forget", "forget the requester for good: deletes it and the tickets they requested")] {
                        div.field {
                            input type="radio" id={ "del-" (value) } name="on_delete" value=(value) checked[delete == value];
                            label for={ "del-" (value) } { " " (text) }
                        }
                    }
                }
                button type="submit" { "Save mapping" }
            }
        }
    }
}

fn choices(c: &[Choice]) -> Markup {
    let c: Vec<String> = c.iter().map(Choice::display).collect();
    html! {
        @if c.is_empty() { span.muted { "—" } }
        @else if c.len() > 12 { details { summary { (c.len()) " choices" } (c.join(", ")) } }
        @else { (c.join(", ")) }
    }
}

/// Whether Push Groups (Okta) or group provisioning (Entra) is safe to turn
/// on: the key may manage requester groups, and which names would clash.
fn push_groups(groups: &Result<(Vec<RequesterGroup>, bool), String>, pushed: usize) -> Markup {
    html! {
        section aria-labelledby="groups-h" {
            h2 #groups-h { "Push Groups" }
            @match groups {
                Err(e) => p #push-groups .error role="alert" {
                    "Not safe to turn on yet: Freshservice did not list the requester groups (" (e) "). The API key must belong to an admin who may manage requester groups (Admin → Requester Groups)."
                },
                Ok((list, more)) => {
                    @let rule_based: Vec<&RequesterGroup> = list.iter().filter(|g| g.kind == GroupKind::RuleBased).collect();
                    p #push-groups .ok {
                        "Safe to turn on. Each group you push from Okta (Push Groups) or Entra becomes a manual requester group of the same name, with the same members; a manual group that already has that name is linked, not duplicated. Renaming the group renames it; deleting it disbands it (its requesters stay)."
                    }
                    p { (pushed) " group" @if pushed != 1 { "s" } " pushed so far; see the " a href="/status#groups-h" { "status page" } "." }
                    @if !rule_based.is_empty() {
                        p #rule-based .warn {
                            "These requester groups are rule-based: Freshservice takes no members for them through its API, so a pushed group of the same name fails (shown on the status page). Rename one side first: "
                            @for (i, g) in rule_based.iter().enumerate() { @if i > 0 { ", " } strong { (g.name) } }
                            @if *more { " (the account has more than 100 requester groups; only the first 100 were checked)" }
                            "."
                        }
                    }
                }
            }
        }
    }
}
