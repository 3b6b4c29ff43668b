//! SCIM `addresses` → Freshservice's single-line `address`.
//!
//! Freshservice keeps the address as one free-text string, so the SCIM
//! complex value is flattened into one readable line.

use serde_json::Value;

/// The address to use: the `work` one, else the primary, else the first.
/// Among several work addresses the primary one wins.
pub fn pick_address(addresses: &Value) -> Option<&Value> {
    let list = addresses.as_array()?;
    let is_type = |a: &&Value, t: &str| {
        a.get("type")
            .and_then(Value::as_str)
            .is_some_and(|ty| ty.eq_ignore_ascii_case(t))
    };
    let is_primary = |a: &&Value| a.get("primary").and_then(Value::as_bool) == Some(true);
    list.iter()
        .find(|a| is_type(a, "work") && is_primary(a))
        .or_else(|| list.iter().find(|a| is_type(a, "work")))
        .or_else(|| list.iter().find(is_primary))
        .or_else(|| list.first())
}

/// One line for one SCIM address: its `formatted` value when present, else
/// `streetAddress, locality, region postalCode, country` without empty
/// parts. Line breaks become ", ". `None` when nothing is left.
pub fn format_address(address: &Value) -> Option<String> {
    let field = |k: &str| {
        address
            .get(k)
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default()
    };
    let formatted = field("formatted");
    if !formatted.is_empty() {
        return Some(formatted);
    }
    let region_postal = [field("region"), field("postalCode")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<String> = [
        field("streetAddress"),
        field("locality"),
        region_postal,
        field("country"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The address line for a SCIM user's `addresses` attribute.
pub fn address_line(addresses: &Value) -> Option<String> {
    pick_address(addresses).and_then(format_address)
}

/// Joins the non-blank lines of a multi-line value with ", ".
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let cases = [
            (
                json!({"formatted": "1 Main St\nSpringfield"}),
                Some("1 Main St, Springfield"),
            ),
            (
                json!({"formatted": "  ", "streetAddress": "1 Main St", "locality": "Springfield",
                       "region": "IL", "postalCode": "62701", "country": "US"}),
                Some("1 Main St, Springfield, IL 62701, US"),
            ),
            (
                json!({"streetAddress": "Flat 2\r\n10 High St\n", "locality": "London",
                       "postalCode": "N1 9GU", "country": "GB"}),
                Some("Flat 2, 10 High St, London, N1 9GU, GB"),
            ),
            (json!({"region": "CA"}), Some("CA")),
            (
                json!({"locality": "Paris", "country": "FR"}),
                Some("Paris, FR"),
            ),
            (
                json!({"streetAddress": "", "locality": null, "type": "work"}),
                None,
            ),
            (json!({"streetAddress": 42}), None),
            (json!("not an object"), None),
        ];
        for (address, want) in cases {
            assert_eq!(format_address(&address).as_deref(), want, "{address}");
        }
    }

    #[test]
    fn picks_work_then_primary_then_first() {
        let home = json!({"type": "home", "formatted": "Home"});
        let primary = json!({"type": "other", "primary": true, "formatted": "Primary"});
        let work = json!({"type": "Work", "formatted": "Work"});
        let work_primary = json!({"type": "work", "primary": true, "formatted": "Work primary"});
        let cases = [
            (json!([home, primary, work]), Some("Work")),
            (json!([work, work_primary]), Some("Work primary")),
            (json!([home, primary]), Some("Primary")),
            (json!([home]), Some("Home")),
            (json!([]), None),
            (json!(null), None),
        ];
        for (addresses, want) in cases {
            assert_eq!(address_line(&addresses).as_deref(), want, "{addresses}");
        }
    }
}
