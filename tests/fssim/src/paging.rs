//! Pagination (`docs/freshservice.md` §2.3): `page` from 1, `per_page` default 30 and at most 100,
//! invalid values are 400, and a `link: <…&page=N>; rel="next"` header only when a next
//! page exists.

use crate::errors::{ApiError, FieldError};

/// A requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: usize,
    pub per_page: usize,
}

fn positive(field: &str, v: &str, max: Option<usize>) -> Result<usize, FieldError> {
    let msg = match max {
        Some(m) => format!("It should be a/an Positive Integer less than or equal to {m}"),
        None => "It should be a/an Positive Integer".to_string(),
    };
    match v.parse::<usize>() {
        Ok(n) if n >= 1 && max.is_none_or(|m| n <= m) => Ok(n),
        _ => Err(FieldError::invalid_value(field, &msg)),
    }
}

/// Reads `page` and `per_page` from query pairs. `max_page` caps `page` (40 for `query=`);
/// `fixed` forces the page size (30 for `query=`; a `per_page` given there is ignored).
pub fn parse(
    pairs: &[(String, String)],
    max_page: Option<usize>,
    fixed: Option<usize>,
) -> Result<Page, ApiError> {
    let mut errors = Vec::new();
    let mut page = 1;
    let mut per_page = fixed.unwrap_or(30);
    for (k, v) in pairs {
        match k.as_str() {
            "page" => match positive("page", v, max_page) {
                Ok(n) => page = n,
                Err(e) => errors.push(e),
            },
            "per_page" if fixed.is_none() => match positive("per_page", v, Some(100)) {
                Ok(n) => per_page = n,
                Err(e) => errors.push(e),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(Page { page, per_page })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Cuts one page out of `items`; returns it and whether a next page exists.
pub fn slice<T>(items: Vec<T>, p: Page) -> (Vec<T>, bool) {
    let start = (p.page - 1).saturating_mul(p.per_page);
    let has_next = items.len() > start.saturating_add(p.per_page);
    let page = items.into_iter().skip(start).take(p.per_page).collect();
    (page, has_next)
}

/// The `link` header value pointing at page `next` of the same request: the raw query
/// string is kept verbatim except for `page`.
pub fn link(base: &str, path: &str, raw_query: &str, next: usize) -> String {
    let mut parts: Vec<String> = raw_query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_string)
        .collect();
    parts.push(format!("page={next}"));
    format!("<{base}{path}?{}>; rel=\"next\"", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_keeps_other_params() {
        assert_eq!(
            link(
                "http://h/acme",
                "/api/v2/requesters",
                "per_page=2&page=1&email=a%40b",
                2
            ),
            "<http://h/acme/api/v2/requesters?per_page=2&email=a%40b&page=2>; rel=\"next\""
        );
    }

    #[test]
    fn slices() {
        let (p, more) = slice(
            (1..=5).collect(),
            Page {
                page: 2,
                per_page: 2,
            },
        );
        assert_eq!((p, more), (vec![3, 4], true));
        let (p, more) = slice(
            (1..=4).collect::<Vec<i32>>(),
            Page {
                page: 2,
                per_page: 2,
            },
        );
        assert_eq!((p, more), (vec![3, 4], false));
    }
}
