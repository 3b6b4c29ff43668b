//! The admin pages' HTML (maud: every interpolation is escaped): the page
//! frame every page shares, and one module per page. Pages use landmarks,
//! labels tied to inputs, `role="alert"` for errors and `aria-live` for
//! refreshed parts.

pub mod install;
pub mod message;
pub mod settings;
pub mod signin;
pub mod status;

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

/// Which tab is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Install,
    Settings,
    Status,
    None,
}

/// The frame of every page: head, skip link, navigation (with sign-out
/// when signed in), the title as `h1`.
pub(super) fn layout(title: &str, nav: Nav, csrf: Option<&str>, body: Markup) -> Html<String> {
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

/// A read-only text field with a copy button (`/assets/app.js`).
pub(super) fn copy_field(id: &str, label: &str, value: &str) -> Markup {
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
