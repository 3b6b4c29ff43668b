//! The page with one message: errors that end a request, uninstall.

use axum::response::Html;
use maud::html;

use super::{layout, Nav};

/// A page with one message (errors, uninstall).
pub fn page(title: &str, text: &str) -> Html<String> {
    layout(
        title,
        Nav::None,
        None,
        html! { p role="alert" { (text) } p { a href="/" { "Install page" } " · " a href="/settings" { "Settings" } " · " a href="/status" { "Status" } } },
    )
}
