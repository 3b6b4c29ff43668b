//! The status page (`GET /status`): the account's state, user counts, dead
//! letters with replay, failed users and the user search.

use std::time::Duration;

use axum::response::Html;
use maud::{html, Markup};

use super::{layout, Nav};
use crate::web::status::{GroupStatus, Health, StatusView, UserStatus};

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

fn user_rows(users: &[UserStatus]) -> Markup {
    html! {
        table.users {
            thead { tr {
                th scope="col" { "userName" } th scope="col" { "Email" } th scope="col" { "Sync" }
                th scope="col" { "Requester id" } th scope="col" { "Version (applied)" } th scope="col" { "Last error" } th scope="col" { "Updated" }
            } }
            tbody {
                @for u in users {
                    tr data-user=(u.user_name) data-id=(u.id) {
                        th scope="row" { (u.user_name) @if !u.active { " " span.tag { "inactive" } } }
                        td { (u.email) }
                        td { span class={ "badge " (u.label().replace(' ', "-")) } { (u.label()) } }
                        td { (u.requester_id.as_deref().unwrap_or("—")) }
                        td { (u.version) " (" (u.applied_version.map(|v| v.to_string()).unwrap_or_else(|| "—".into())) ")" }
                        td.err { (u.last_error.as_deref().unwrap_or("")) @if let (Some(_), Some(n)) = (&u.last_error, &u.attempts) { " " span.muted { "(attempt " (n) ")" } } @for w in &u.warnings { br; span.muted { "warning: " (w) } } }
                        td { (u.updated_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
    }
}

fn group_rows(groups: &[GroupStatus]) -> Markup {
    html! {
        table #groups {
            thead { tr {
                th scope="col" { "Group" } th scope="col" { "Members" } th scope="col" { "Sync" }
                th scope="col" { "Requester group id" } th scope="col" { "Last error" } th scope="col" { "Updated" }
            } }
            tbody {
                @for g in groups {
                    tr data-group=(g.name) data-id=(g.id) {
                        th scope="row" { (g.name) }
                        td { (g.members) }
                        td {
                            span class={ "badge " (g.label().replace(' ', "-")) } { (g.label()) }
                            @if g.waiting > 0 { " " span.muted { "(" (g.waiting) " waiting for their requester)" } }
                        }
                        td { (g.requester_group_id.map(|i| i.to_string()).unwrap_or_else(|| "—".into())) }
                        td.err { (g.last_error.as_deref().unwrap_or("")) }
                        td { (g.updated_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
    }
}

/// `GET /status`.
pub fn page(v: &StatusView, csrf: &str, refresh: Duration) -> Html<String> {
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
                    Health::OperatorPaused { reason } => p #tenant-state .warn { "Paused by an operator" @if let Some(r) = reason { " (" (r) ")" } ". Okta's changes are accepted and kept; none reaches Freshservice until whoever runs the bridge resumes the tenant." },
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
            section aria-labelledby="groups-h" {
                h2 #groups-h { "Groups" }
                @if v.groups.is_empty() {
                    p #no-groups { "No groups pushed. Turn on Push Groups in Okta (or group provisioning in Entra) to keep requester groups in step." }
                } @else {
                    p { "Each pushed group is a manual requester group in Freshservice, with the same members." @if v.groups_total > v.groups.len() { " The first " (v.groups.len()) " of " (v.groups_total) " are shown." } }
                    (group_rows(&v.groups))
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
                            thead { tr { th scope="col" { "User or group" } th scope="col" { "Reason" } th scope="col" { "Class" } th scope="col" { "When" } th scope="col" { span.sr { "Action" } } } }
                            tbody {
                                @for d in list {
                                    tr data-message-id=(d.message_id) {
                                        td {
                                            @if let Some(name) = v.user_names.get(&d.letter.event.id) {
                                                strong { (name) } br;
                                            }
                                            span.muted { @if d.letter.event.kind == shared::event::ResourceKind::Group { "group · " } "SCIM id " code { (d.letter.event.id) } " · version " (d.letter.event.version) }
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
