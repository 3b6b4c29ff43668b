//! The settings page: the account's requester fields fetched live from
//! Freshservice (with the Okta External Name and Namespace of each custom
//! field), the mapping editor (rows on and off, enterprise attributes to
//! custom fields, missing departments, what a SCIM DELETE does), the API
//! budget, replacing the API key and uninstalling. Every form is
//! CSRF-checked.

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;

use super::error::FsCheckError;
use std::{collections::BTreeMap, sync::Arc};

use shared::{
    freshservice::RequesterField,
    mapping::{EnterpriseAttr, Row},
    records::settings::{DeleteMode, TenantSettings},
};

use super::{error::WebError, install, session, session::SignedIn, views, Web};
use crate::{
    account::Accounts,
    guard::{ClientIp, Guard},
    state::Backend,
};

/// Largest budget accepted (Freshservice's biggest plans are far below).
const MAX_BUDGET: u32 = 100_000;

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /settings` (`?saved=…` after a form: says what was saved).
pub async fn page(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Query(q): Query<SavedQuery>,
) -> Response {
    let notice = match q.saved.as_deref() {
        Some("mapping") => Some("Mapping saved. It applies to each user at their next change."),
        Some("budget") => Some("API budget saved."),
        Some("api_key") => Some("API key checked and saved."),
        _ => None,
    };
    render(
        &state,
        &web,
        &accounts,
        &signed,
        notice.map(|n| (n, true)),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &Backend,
    web: &Web,
    accounts: &Accounts,
    signed: &SignedIn,
    notice: Option<(&str, bool)>,
    status: StatusCode,
) -> Response {
    let t = &signed.tenant;
    const UNREADABLE_KEY: &str = "The stored API key cannot be read (the master key changed?). Enter the API key again below.";
    let (fields, requester_groups) = match state.tenants.api_key(t) {
        Ok(key) => (
            accounts
                .requester_fields(t, &key)
                .await
                .map_err(|e| e.to_string()),
            accounts
                .requester_groups(t, &key)
                .await
                .map_err(|e| e.to_string()),
        ),
        Err(_) => (
            Err(UNREADABLE_KEY.to_string()),
            Err(UNREADABLE_KEY.to_string()),
        ),
    };
    let pushed_groups = state.groups.count(&t.id).await.unwrap_or(0);
    let budget = t
        .rate_limit_per_min
        .unwrap_or(web.config().default_rate_limit);
    let mut r = state.redis.clone();
    let settings = match TenantSettings::load(&mut r, state.tenants.keys(), &t.id).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!(
            "The saved mapping cannot be read ({e}); saving the form replaces it."
        )),
        Err(e) => Err(format!("The saved mapping cannot be read right now ({e}).")),
    };
    (
        status,
        views::settings::page(views::settings::Page {
            tenant: t,
            fields: &fields,
            settings: &settings,
            budget,
            budget_is_default: t.rate_limit_per_min.is_none(),
            csrf: &signed.csrf,
            notice,
            scim_base: &state.scim_base(),
            requester_groups: &requester_groups,
            pushed_groups,
        }),
    )
        .into_response()
}

/// Most name–value pairs the mapping form may carry (it has about 20).
const MAX_MAPPING_PAIRS: usize = 64;
/// Longest custom field name accepted from the form.
const MAX_FIELD_NAME: usize = 128;

/// What the mapping form asks for, before it is checked against the account.
#[derive(Debug, Default, PartialEq)]
struct MappingForm {
    csrf: String,
    off: Vec<Row>,
    enterprise: BTreeMap<EnterpriseAttr, String>,
    create_missing_departments: bool,
    on_delete: Option<DeleteMode>,
}

/// Reads the form's pairs: `row.<key>=on` for each row on (a row whose
/// checkbox is absent is off), `enterprise.<attr>=<field>` (empty: not
/// mapped), `create_departments=on`, `on_delete=default|deactivate|forget`.
/// Unknown names are ignored.
fn read_mapping_form(pairs: &[(String, String)]) -> Result<MappingForm, String> {
    if pairs.len() > MAX_MAPPING_PAIRS {
        return Err(format!(
            "The form carried {} values; the mapping form has at most {MAX_MAPPING_PAIRS}. Nothing was saved.",
            pairs.len()
        ));
    }
    let mut f = MappingForm::default();
    let mut on = Vec::new();
    for (k, v) in pairs {
        if k == "csrf" {
            f.csrf = v.clone();
        } else if let Some(row) = k.strip_prefix("row.").and_then(Row::from_key) {
            on.push(row);
        } else if let Some(attr) = k
            .strip_prefix("enterprise.")
            .and_then(EnterpriseAttr::from_scim)
        {
            let field = v.trim();
            if field.chars().count() > MAX_FIELD_NAME {
                return Err(format!("A custom field name is at most {MAX_FIELD_NAME} characters. Nothing was saved."));
            }
            if !field.is_empty() {
                f.enterprise.insert(attr, field.to_string());
            }
        } else if k == "create_departments" {
            f.create_missing_departments = true;
        } else if k == "on_delete" {
            f.on_delete =
                match v.as_str() {
                    "default" | "" => None,
                    other => Some(other.parse::<DeleteMode>().map_err(|e| {
                        format!("What a SCIM DELETE does: {e}. Nothing was saved.")
                    })?),
                };
        }
    }
    f.off = Row::ALL.into_iter().filter(|r| !on.contains(r)).collect();
    Ok(f)
}

/// The enterprise targets must be custom fields the account has, one
/// attribute each.
fn check_targets(
    targets: &BTreeMap<EnterpriseAttr, String>,
    fields: &[RequesterField],
) -> Result<(), String> {
    let mut used: BTreeMap<&str, EnterpriseAttr> = BTreeMap::new();
    for (attr, target) in targets {
        if !fields.iter().any(|f| !f.builtin && f.name == *target) {
            return Err(format!(
                "This Freshservice account has no custom requester field named \"{target}\" for {}. Nothing was saved.",
                attr.scim()
            ));
        }
        if let Some(other) = used.insert(target, *attr) {
            return Err(format!(
                "{} and {} both point at the custom field \"{target}\"; give each its own field. Nothing was saved.",
                other.scim(),
                attr.scim()
            ));
        }
    }
    Ok(())
}

/// `POST /settings/mapping`: saves the mapping editor. Changing where an
/// enterprise attribute goes needs the account's fields, read live; the
/// rest is saved even when Freshservice cannot be reached.
pub async fn mapping(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = match read_mapping_form(&pairs) {
        Ok(f) => f,
        Err(msg) => {
            return render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&msg, false)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    if let Err(r) = signed.check_csrf(&form.csrf) {
        return r.into_response();
    }
    match save_mapping(&state, &accounts, &signed, form).await {
        Ok(()) => {
            tracing::info!(tenant = %signed.tenant.id, "mapping settings saved");
            Redirect::to("/settings?saved=mapping").into_response()
        }
        Err((msg, status)) => {
            render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&msg, false)),
                status,
            )
            .await
        }
    }
}

async fn save_mapping(
    state: &Backend,
    accounts: &Accounts,
    signed: &SignedIn,
    form: MappingForm,
) -> Result<(), (String, StatusCode)> {
    let t = &signed.tenant;
    let store_err = |e: redis::RedisError| {
        let e = WebError::from(shared::tenant::TenantError::from(e));
        (e.to_string(), e.status())
    };
    let mut r = state.redis.clone();
    // Unreadable: the form replaces it whole.
    let mut settings = TenantSettings::load(&mut r, state.tenants.keys(), &t.id)
        .await
        .map_err(store_err)?
        .unwrap_or_default();
    if form.enterprise != settings.mapping.enterprise && !form.enterprise.is_empty() {
        let fields = match state.tenants.api_key(t) {
            Ok(key) => accounts
                .requester_fields(t, &key)
                .await
                .map_err(|e| e.to_string()),
            Err(_) => Err("the stored API key cannot be read".to_string()),
        };
        match fields {
            Ok(fields) => check_targets(&form.enterprise, &fields),
            Err(e) => Err(format!("The account's custom fields cannot be read right now ({e}), so where the enterprise attributes go was not changed. Nothing was saved; try again, or save with the attributes as they were.")),
        }
        .map_err(|msg| (msg, StatusCode::BAD_REQUEST))?;
    }
    settings.mapping.off = form.off.into_iter().collect();
    settings.mapping.set_enterprise(form.enterprise);
    settings.mapping.create_missing_departments = form.create_missing_departments;
    settings.on_delete = form.on_delete;
    settings
        .save(&mut r, state.tenants.keys(), &t.id)
        .await
        .map_err(store_err)
}

#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rate_limit_per_min: String,
}

/// `POST /settings/budget`.
pub async fn budget(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Form(f): Form<BudgetForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    let n = match f.rate_limit_per_min.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_BUDGET).contains(&n) => n,
        _ => {
            let msg = format!("Enter the calls per minute your Freshservice plan allows, a whole number from 1 to {MAX_BUDGET} (see Admin → API limits in Freshservice).");
            return render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&msg, false)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    if let Err(e) = state.tenants.set_rate_limit(&signed.tenant.id, n).await {
        let e = WebError::from(e);
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&e.to_string(), false)),
            e.status(),
        )
        .await;
    }
    tracing::info!(tenant = %signed.tenant.id, per_min = n, "API budget changed");
    Redirect::to("/settings?saved=budget").into_response()
}

#[derive(Deserialize)]
pub struct ApiKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
}

/// `POST /settings/api-key`: replaces the API key (checked first); the
/// bearer token stays the same, a tenant held for rejected credentials
/// resumes (an operator's pause stays: `ingress tenant resume` ends it).
pub async fn api_key(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    State(guard): State<Guard>,
    ClientIp(ip): ClientIp,
    signed: SignedIn,
    Form(f): Form<ApiKeyForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    if let Err(wait) = guard.limiter().check(ip) {
        let e = WebError::TooManyAttempts(wait);
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&e.to_string(), false)),
            e.status(),
        )
        .await;
    }
    let key = f.api_key.trim();
    let result = if key.is_empty() {
        Err(WebError::EmptyApiKey)
    } else {
        match accounts.validate(&signed.tenant.domain, key).await {
            Ok(_) => state
                .tenants
                .set_api_key(&signed.tenant.id, key)
                .await
                .map_err(WebError::from),
            Err(e) => Err(WebError::from(e)),
        }
    };
    match result {
        Ok(()) => {
            tracing::info!(tenant = %signed.tenant.id, "API key replaced");
            Redirect::to("/settings?saved=api_key").into_response()
        }
        Err(e) => {
            if matches!(
                e,
                WebError::Freshservice(
                    FsCheckError::WrongKey { .. } | FsCheckError::NotAdmin { .. }
                )
            ) {
                guard.limiter().failed(ip);
            }
            render(
                &state,
                &web,
                &accounts,
                &signed,
                Some((&e.to_string(), false)),
                e.status(),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct UninstallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_domain: String,
}

/// `POST /settings/uninstall`: the admin types the domain to confirm.
pub async fn uninstall(
    State(state): State<Backend>,
    State(web): State<Web>,
    State(accounts): State<Arc<Accounts>>,
    signed: SignedIn,
    Form(f): Form<UninstallForm>,
) -> Response {
    if let Err(r) = signed.check_csrf(&f.csrf) {
        return r.into_response();
    }
    let typed = shared::tenant::normalize_domain(&f.confirm_domain).ok();
    if typed.as_deref() != Some(signed.tenant.domain.as_str()) {
        let msg = format!(
            "To uninstall, type the domain \"{}\" exactly. Nothing was removed.",
            signed.tenant.domain
        );
        return render(
            &state,
            &web,
            &accounts,
            &signed,
            Some((&msg, false)),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let mut r = match install::uninstall(&state, &web, &signed.tenant.id).await {
        Ok(()) => (
            StatusCode::OK,
            views::message::page(
                "Uninstalled",
                "The bridge forgot this Freshservice account: its token no longer works, and its users' SCIM state and queued changes are gone. Requesters already in Freshservice stay as they are. Turn off provisioning in Okta's app too.",
            ),
        )
            .into_response(),
        // Uninstalled all the same: there is no settings page to go back to.
        Err(e @ WebError::UninstalledBrokerPending { .. }) => {
            (e.status(), views::message::page("Uninstalled", &e.to_string())).into_response()
        }
        Err(e) => {
            return render(
                &state,
                &web,
                &accounts, &signed,
                Some((&e.to_string(), false)),
                e.status(),
            )
            .await;
        }
    };
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn absent_rows_are_off_and_unknown_names_ignored() {
        let f = read_mapping_form(&pairs(&[
            ("csrf", "c"),
            ("row.last_name", "on"),
            ("row.job_title", "on"),
            ("row.nonsense", "on"),
            ("whatever", "x"),
            ("enterprise.employeeNumber", " emp_no "),
            ("enterprise.costCenter", ""),
            ("create_departments", "on"),
            ("on_delete", "forget"),
        ]))
        .unwrap();
        assert_eq!(f.csrf, "c");
        assert!(!f.off.contains(&Row::LastName) && !f.off.contains(&Row::JobTitle));
        assert!(f.off.contains(&Row::WorkPhone) && f.off.contains(&Row::Manager));
        assert_eq!(
            f.enterprise,
            BTreeMap::from([(EnterpriseAttr::EmployeeNumber, "emp_no".to_string())])
        );
        assert!(f.create_missing_departments);
        assert_eq!(f.on_delete, Some(DeleteMode::Forget));
        let f = read_mapping_form(&pairs(&[("on_delete", "default")])).unwrap();
        assert_eq!(f.on_delete, None);
    }

    #[test]
    fn bounded_and_clear_refusals() {
        let many: Vec<(String, String)> = (0..65).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(read_mapping_form(&many).unwrap_err().contains("at most 64"));
        let long = "x".repeat(129);
        assert!(read_mapping_form(&pairs(&[("enterprise.division", &long)]))
            .unwrap_err()
            .contains("128"));
        assert!(read_mapping_form(&pairs(&[("on_delete", "shred")]))
            .unwrap_err()
            .contains("deactivate"));
    }

    #[test]
    fn targets_must_be_distinct_custom_fields_of_the_account() {
        let field = |name: &str, builtin: bool| RequesterField {
            name: name.into(),
            label: name.into(),
            kind: if builtin {
                "default_x".into()
            } else {
                "custom_text".into()
            },
            builtin,
            required_for_agents: false,
            position: None,
            choices: vec![],
        };
        let fields = [
            field("emp_no", false),
            field("cc", false),
            field("email", true),
        ];
        let t = |p: &[(EnterpriseAttr, &str)]| {
            p.iter()
                .map(|(a, f)| (*a, f.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(check_targets(&t(&[(EnterpriseAttr::EmployeeNumber, "emp_no")]), &fields).is_ok());
        let e = check_targets(&t(&[(EnterpriseAttr::Division, "nope")]), &fields).unwrap_err();
        assert!(e.contains("\"nope\"") && e.contains("division"), "{e}");
        let e = check_targets(&t(&[(EnterpriseAttr::Division, "email")]), &fields).unwrap_err();
        assert!(
            e.contains("\"email\""),
            "a built-in field is no target: {e}"
        );
        let e = check_targets(
            &t(&[
                (EnterpriseAttr::EmployeeNumber, "cc"),
                (EnterpriseAttr::CostCenter, "cc"),
            ]),
            &fields,
        )
        .unwrap_err();
        assert!(e.contains("both point"), "{e}");
    }
}
