//! The simulator's in-memory world: accounts (one per Freshservice domain) and what each
//! holds (users, requester fields, groups, departments, locations, budget, faults, call
//! log), plus the JSON specs that create them (`POST /_sim/accounts` and `--seed FILE`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};

use crate::errors::{ApiError, FieldError};
use crate::faults::Faults;
use crate::fields::{CustomField, CustomFieldSpec};
use crate::ratelimit::RateLimiter;

/// First id handed out in an account; ids are 64-bit like the real ones (`docs/freshservice.md` §2.2).
pub const FIRST_ID: u64 = 21_000_000_001;

/// Formats a timestamp the way Freshservice does: UTC `YYYY-MM-DDTHH:MM:SSZ` (`docs/freshservice.md` §1).
pub fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A user of an account: a requester, or an agent (`is_agent`). They share one id space
/// (`docs/freshservice.md` §8).
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub is_agent: bool,
    /// Agents only: an occasional agent (what convert_to_agent makes, `docs/freshservice.md` §2.1).
    pub occasional: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub primary_email: Option<String>,
    pub secondary_emails: Vec<String>,
    pub work_phone_number: Option<String>,
    pub mobile_phone_number: Option<String>,
    pub department_ids: Vec<u64>,
    pub can_see_all_tickets_from_associated_departments: bool,
    pub can_see_all_changes_from_associated_departments: bool,
    pub reporting_manager_id: Option<u64>,
    pub address: Option<String>,
    pub time_zone: String,
    pub time_format: String,
    pub language: String,
    pub location_id: Option<u64>,
    pub background_information: Option<String>,
    pub custom_fields: Map<String, Value>,
    pub active: bool,
    pub has_logged_in: bool,
    pub vip_user: bool,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A blank user with the account's defaults, not yet valid.
    pub fn blank(id: u64, default_time_zone: &str, now: DateTime<Utc>) -> Self {
        User {
            id,
            is_agent: false,
            occasional: false,
            first_name: String::new(),
            last_name: None,
            job_title: None,
            primary_email: None,
            secondary_emails: Vec::new(),
            work_phone_number: None,
            mobile_phone_number: None,
            department_ids: Vec::new(),
            can_see_all_tickets_from_associated_departments: false,
            can_see_all_changes_from_associated_departments: false,
            reporting_manager_id: None,
            address: None,
            time_zone: default_time_zone.to_string(),
            time_format: "12h".into(),
            language: "en".into(),
            location_id: None,
            background_information: None,
            custom_fields: Map::new(),
            active: true,
            has_logged_in: false,
            vip_user: false,
            external_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Every email of this user, lower-cased: primary and secondaries.
    pub fn emails(&self) -> impl Iterator<Item = String> + '_ {
        self.primary_email
            .iter()
            .chain(self.secondary_emails.iter())
            .map(|e| e.to_lowercase())
    }

    /// `first_name last_name`, as the `name` query field sees it.
    pub fn name(&self) -> String {
        match &self.last_name {
            Some(l) if !l.is_empty() => format!("{} {}", self.first_name, l),
            _ => self.first_name.clone(),
        }
    }
}

/// A requester group (`docs/freshservice.md` §4).
#[derive(Debug, Clone)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// `manual` or `rule_based`.
    pub kind: String,
    pub members: Vec<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Group {
    /// The group object as the API shows it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": self.kind,
            "workspace_id": 1,
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }
}

/// How custom dropdown `choices` are rendered in `GET /requester_fields` (the shape is
/// unconfirmed, `docs/freshservice.md` §3, so a test can pick one to check a client's defensiveness).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoicesShape {
    /// `["Berlin","Paris"]`
    #[default]
    Strings,
    /// `[{"id":1,"value":"Berlin","position":1},…]`
    Objects,
    /// `{"Berlin":"Berlin",…}`
    Map,
}

/// Whether the account takes `external_id` in a requester body (`docs/freshservice.md`
/// §2.2: unconfirmed, it may not be writable everywhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalIdMode {
    /// Stored and shown like any attribute.
    #[default]
    Writable,
    /// A body carrying it is refused: 400 `invalid_field` on `external_id`, as
    /// Freshservice answers any attribute it does not know.
    Refused,
}

/// How the account plays the behaviours `docs/freshservice.md` leaves unconfirmed. Set in
/// an account spec (seed file, `POST /_sim/accounts`) or at run time with
/// `PUT /_sim/accounts/{domain}/settings`; every default is today's strict reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unconfirmed {
    /// An email is unique across the account (§8): a create or update with an email
    /// another user holds answers `duplicate_value`. `false`: it is accepted, and two
    /// requesters may share an email.
    pub email_unique: bool,
    /// `external_id` writable or refused (§2.2).
    pub external_id: ExternalIdMode,
    /// `GET /requesters?email=` lists deactivated requesters too (§8). `false`: it
    /// shows active ones only (they still exist, by id and in `query=`).
    pub email_lookup_includes_deactivated: bool,
    /// The `query=` search index sees a create or change only this long after it
    /// (§2.1): a requester changed more recently is missing from `query=` results.
    pub search_lag_ms: u64,
    /// The same lag for `?email=` lookups (0: immediate, the default).
    pub email_lookup_lag_ms: u64,
}

impl Default for Unconfirmed {
    fn default() -> Self {
        Unconfirmed {
            email_unique: true,
            external_id: ExternalIdMode::Writable,
            email_lookup_includes_deactivated: true,
            search_lag_ms: 0,
            email_lookup_lag_ms: 0,
        }
    }
}

/// A change to [`Unconfirmed`]; a missing field is left as it is.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnconfirmedPatch {
    pub email_unique: Option<bool>,
    pub external_id: Option<ExternalIdMode>,
    pub email_lookup_includes_deactivated: Option<bool>,
    pub search_lag_ms: Option<u64>,
    pub email_lookup_lag_ms: Option<u64>,
}

impl Unconfirmed {
    /// Applies a patch.
    pub fn apply(&mut self, p: &UnconfirmedPatch) {
        if let Some(x) = p.email_unique {
            self.email_unique = x;
        }
        if let Some(x) = p.external_id {
            self.external_id = x;
        }
        if let Some(x) = p.email_lookup_includes_deactivated {
            self.email_lookup_includes_deactivated = x;
        }
        if let Some(x) = p.search_lag_ms {
            self.search_lag_ms = x;
        }
        if let Some(x) = p.email_lookup_lag_ms {
            self.email_lookup_lag_ms = x;
        }
    }
}

/// One entry of the call log (`GET /_sim/accounts/{domain}/calls`).
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub method: String,
    /// Path without the `/{domain}` prefix, e.g. `/api/v2/requesters`.
    pub path: String,
    pub query: String,
    /// HTTP status answered; 0 when the connection was dropped before any work.
    pub status: u16,
    /// Milliseconds since the Unix epoch when the call was answered (or dropped).
    pub at_ms: u64,
    /// Milliseconds since the Unix epoch when the call arrived, before any
    /// latency fault: the client's own pace, whatever the answers took
    /// (`tests/e2e/tests/worker/support.rs::assert_paced`).
    pub received_ms: u64,
    /// `null`, or the fault that shaped the answer: `latency`, `error`, `drop`,
    /// `drop_after_commit`, `storm`, `revoked`, `client_gone` (the client closed the connection
    /// before the answer: `status` 0, `at_ms` when the simulator noticed).
    pub fault: Option<&'static str>,
    /// Credits charged against the budget.
    pub credits: u32,
}

/// Language choices of the `language` requester field (`docs/freshservice.md` §7, doc sample).
pub const DEFAULT_LANGUAGES: &[(&str, &str)] = &[
    ("ar", "Arabic"),
    ("ca", "Catalan"),
    ("zh-CN", "Chinese"),
    ("cs", "Czech"),
    ("da", "Danish"),
    ("nl", "Dutch"),
    ("en", "English"),
    ("et", "Estonian"),
    ("fi", "Finnish"),
    ("fr", "French"),
    ("de", "German"),
    ("hu", "Hungarian"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("ja-JP", "Japanese"),
    ("ko", "Korean"),
    ("nb-NO", "Norwegian"),
    ("pl", "Polish"),
    ("pt-BR", "Portuguese (BR)"),
    ("pt-PT", "Portuguese/Portugal"),
    ("ru-RU", "Russian"),
    ("sk", "Slovak"),
    ("sl", "Slovenian"),
    ("es", "Spanish"),
    ("es-LA", "Spanish (Latin America)"),
    ("sv-SE", "Swedish"),
    ("th", "Thai"),
    ("tr", "Turkish"),
    ("vi", "Vietnamese"),
    ("cy-GB", "Welsh"),
];

/// One Freshservice account.
#[derive(Debug)]
pub struct Account {
    pub domain: String,
    pub api_keys: HashSet<String>,
    pub non_admin_keys: HashSet<String>,
    /// Status of a `duplicate_value` answer (`docs/freshservice.md` §5: 400 or 409, unconfirmed).
    pub duplicate_status: StatusCode,
    /// What reactivating an already active requester answers: unknown for
    /// the real API, so switchable (`None`: 200 like any reactivate).
    pub reactivate_active_status: Option<StatusCode>,
    pub choices_shape: ChoicesShape,
    /// How the behaviours the reference leaves unconfirmed are played.
    pub unconfirmed: Unconfirmed,
    pub default_time_zone: String,
    /// code → display name, in order.
    pub languages: Vec<(String, String)>,
    pub users: BTreeMap<u64, User>,
    pub custom_fields: Vec<CustomField>,
    pub groups: BTreeMap<u64, Group>,
    pub departments: BTreeMap<u64, Map<String, Value>>,
    pub locations: BTreeMap<u64, Map<String, Value>>,
    pub rate: RateLimiter,
    pub faults: Faults,
    pub calls: Vec<CallRecord>,
    pub next_id: u64,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// A fresh empty account.
    pub fn new(domain: &str, window: Duration) -> Self {
        Account {
            domain: domain.to_string(),
            api_keys: HashSet::new(),
            non_admin_keys: HashSet::new(),
            duplicate_status: StatusCode::CONFLICT,
            reactivate_active_status: None,
            choices_shape: ChoicesShape::default(),
            unconfirmed: Unconfirmed::default(),
            default_time_zone: "Eastern Time (US & Canada)".into(),
            languages: DEFAULT_LANGUAGES
                .iter()
                .map(|(c, n)| (c.to_string(), n.to_string()))
                .collect(),
            users: BTreeMap::new(),
            custom_fields: Vec::new(),
            groups: BTreeMap::new(),
            departments: BTreeMap::new(),
            locations: BTreeMap::new(),
            rate: RateLimiter::new(500, window),
            faults: Faults::default(),
            calls: Vec::new(),
            next_id: FIRST_ID,
            created_at: Utc::now(),
        }
    }

    /// Hands out the next id (unique across every kind of object in the account).
    pub fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Makes sure `next_id` stays above an explicitly chosen id.
    pub fn reserve_id(&mut self, id: u64) {
        if id >= self.next_id {
            self.next_id = id + 1;
        }
    }

    /// A requester (not an agent) by id.
    pub fn requester(&self, id: u64) -> Result<&User, ApiError> {
        self.users
            .get(&id)
            .filter(|u| !u.is_agent)
            .ok_or(ApiError::NotFound)
    }

    /// The user (requester or agent) owning `email` as primary or secondary, if any.
    pub fn owner_of_email(&self, email: &str, except: Option<u64>) -> Option<&User> {
        let e = email.to_lowercase();
        self.users
            .values()
            .filter(|u| Some(u.id) != except)
            .find(|u| u.emails().any(|x| x == e))
    }

    /// Applies an account spec's settings and seeds its objects.
    pub fn apply_spec(&mut self, spec: &AccountSpec) -> Result<(), ApiError> {
        self.api_keys.extend(spec.api_keys.iter().cloned());
        self.non_admin_keys
            .extend(spec.non_admin_keys.iter().cloned());
        if let Some(n) = spec.rate_limit_per_min {
            self.rate.per_minute = n;
        }
        if let Some(ms) = spec.rate_window_ms {
            self.rate.window = Duration::from_millis(ms.max(1));
        }
        if let Some(s) = spec.duplicate_status {
            self.duplicate_status = StatusCode::from_u16(s).map_err(|_| {
                ApiError::field(FieldError::invalid_value(
                    "duplicate_status",
                    "not an HTTP status",
                ))
            })?;
        }
        if let Some(s) = spec.dropdown_choices_shape {
            self.choices_shape = s;
        }
        self.unconfirmed.apply(&UnconfirmedPatch {
            email_unique: spec.email_unique,
            external_id: spec.external_id,
            email_lookup_includes_deactivated: spec.email_lookup_includes_deactivated,
            search_lag_ms: spec.search_lag_ms,
            email_lookup_lag_ms: spec.email_lookup_lag_ms,
        });
        if let Some(tz) = &spec.default_time_zone {
            if !crate::timezones::is_valid(tz) {
                return Err(ApiError::field(FieldError::not_a_choice(
                    "default_time_zone",
                )));
            }
            self.default_time_zone = tz.clone();
        }
        if let Some(langs) = &spec.languages {
            self.languages = langs
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or(k).to_string()))
                .collect();
        }
        for d in &spec.departments {
            self.add_department(d)?;
        }
        for l in &spec.locations {
            self.add_location(l)?;
        }
        for f in &spec.custom_fields {
            self.add_custom_field(f)?;
        }
        for a in &spec.agents {
            self.admin_create_user(a, true)?;
        }
        for r in &spec.requesters {
            self.admin_create_user(r, false)?;
        }
        for g in &spec.requester_groups {
            self.admin_create_group(g)?;
        }
        Ok(())
    }

    fn add_directory_entry(
        &mut self,
        v: &Value,
        location: bool,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut obj = v.as_object().cloned().ok_or_else(ApiError::invalid_json)?;
        if !obj.get("name").is_some_and(Value::is_string) {
            return Err(ApiError::field(FieldError::missing("name", "String")));
        }
        let id = match obj.get("id").and_then(Value::as_u64) {
            Some(id) => {
                self.reserve_id(id);
                id
            }
            None => self.alloc_id(),
        };
        let now = ts(&Utc::now());
        let mut out = Map::new();
        out.insert("id".into(), id.into());
        out.insert("name".into(), obj.remove("name").unwrap_or(Value::Null));
        let defaults: Vec<(&str, Value)> = if location {
            vec![
                ("parent_location_id", Value::Null),
                ("primary_contact_id", Value::Null),
                (
                    "address",
                    serde_json::json!({"line1":null,"line2":null,"city":null,"state":null,"country":null,"zipcode":null}),
                ),
                ("contact_name", Value::Null),
                ("email", Value::Null),
                ("phone", Value::Null),
            ]
        } else {
            vec![
                ("description", Value::Null),
                ("head_user_id", Value::Null),
                ("prime_user_id", Value::Null),
                ("domains", Value::Array(vec![])),
                ("custom_fields", Value::Object(Map::new())),
            ]
        };
        for (k, d) in defaults {
            out.insert(k.into(), obj.remove(k).unwrap_or(d));
        }
        obj.remove("id");
        for (k, v) in obj {
            out.insert(k, v);
        }
        out.insert("created_at".into(), now.clone().into());
        out.insert("updated_at".into(), now.into());
        Ok(out)
    }

    /// Adds a department (admin/seed); returns it.
    pub fn add_department(&mut self, v: &Value) -> Result<Value, ApiError> {
        let d = self.add_directory_entry(v, false)?;
        let id = d["id"].as_u64().unwrap_or_default();
        self.departments.insert(id, d.clone());
        Ok(Value::Object(d))
    }

    /// Adds a location (admin/seed); returns it.
    pub fn add_location(&mut self, v: &Value) -> Result<Value, ApiError> {
        let l = self.add_directory_entry(v, true)?;
        let id = l["id"].as_u64().unwrap_or_default();
        self.locations.insert(id, l.clone());
        Ok(Value::Object(l))
    }

    /// Adds a requester group directly (admin/seed), any type, with optional members
    /// given as ids or emails.
    pub fn admin_create_group(&mut self, g: &GroupSpec) -> Result<Value, ApiError> {
        if g.kind != "manual" && g.kind != "rule_based" {
            return Err(ApiError::field(FieldError::not_a_choice("type")));
        }
        let mut members = Vec::new();
        for m in &g.members {
            let id = match m {
                Value::Number(n) => n.as_u64(),
                Value::String(e) => self.owner_of_email(e, None).map(|u| u.id),
                _ => None,
            }
            .filter(|id| self.users.contains_key(id))
            .ok_or_else(|| ApiError::field(FieldError::invalid_value("members", "no such user")))?;
            if !members.contains(&id) {
                members.push(id);
            }
        }
        let now = Utc::now();
        let id = self.alloc_id();
        let group = Group {
            id,
            name: g.name.clone(),
            description: g.description.clone(),
            kind: g.kind.clone(),
            members,
            created_at: now,
            updated_at: now,
        };
        let out = group.to_json();
        self.groups.insert(id, group);
        Ok(out)
    }

    /// The whole account as `GET /_sim/accounts/{domain}/state` shows it.
    pub fn state_json(&self) -> Value {
        let requesters: Vec<Value> = self
            .users
            .values()
            .filter(|u| !u.is_agent)
            .map(|u| self.requester_json(u))
            .collect();
        let agents: Vec<Value> = self
            .users
            .values()
            .filter(|u| u.is_agent)
            .map(|u| self.agent_json(u))
            .collect();
        let groups: Vec<Value> = self
            .groups
            .values()
            .map(|g| {
                let mut v = g.to_json();
                v["members"] = serde_json::json!(g.members);
                v
            })
            .collect();
        serde_json::json!({
            "domain": self.domain,
            "requesters": requesters,
            "agents": agents,
            "requester_groups": groups,
            "requester_fields": self.requester_fields_json(false),
            "departments": self.departments.values().cloned().collect::<Vec<_>>(),
            "locations": self.locations.values().cloned().collect::<Vec<_>>(),
        })
    }
}

/// A requester group in an account spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `manual` (default) or `rule_based`.
    #[serde(rename = "type", default = "manual")]
    pub kind: String,
    /// Member ids or emails.
    #[serde(default)]
    pub members: Vec<Value>,
}

fn manual() -> String {
    "manual".into()
}

/// One account as `POST /_sim/accounts` and the seed file describe it. Every field but
/// `domain` is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub domain: String,
    /// Admin API keys.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// Valid keys whose agent lacks admin rights: 403 on requester and agent endpoints.
    #[serde(default)]
    pub non_admin_keys: Vec<String>,
    /// Per-window budget (default 500).
    #[serde(default)]
    pub rate_limit_per_min: Option<u32>,
    /// Length of the rate-limit window in ms (default: the simulator's, 60 000).
    #[serde(default)]
    pub rate_window_ms: Option<u64>,
    /// Status for `duplicate_value` answers (default 409).
    #[serde(default)]
    pub duplicate_status: Option<u16>,
    /// How dropdown choices are rendered in `/requester_fields` (default `strings`).
    #[serde(default)]
    pub dropdown_choices_shape: Option<ChoicesShape>,
    /// [`Unconfirmed::email_unique`] (default true).
    #[serde(default)]
    pub email_unique: Option<bool>,
    /// [`Unconfirmed::external_id`] (default `writable`).
    #[serde(default)]
    pub external_id: Option<ExternalIdMode>,
    /// [`Unconfirmed::email_lookup_includes_deactivated`] (default true).
    #[serde(default)]
    pub email_lookup_includes_deactivated: Option<bool>,
    /// [`Unconfirmed::search_lag_ms`] (default 0).
    #[serde(default)]
    pub search_lag_ms: Option<u64>,
    /// [`Unconfirmed::email_lookup_lag_ms`] (default 0).
    #[serde(default)]
    pub email_lookup_lag_ms: Option<u64>,
    /// Account default time zone for new requesters (default "Eastern Time (US & Canada)").
    #[serde(default)]
    pub default_time_zone: Option<String>,
    /// Replaces the `language` choices (code → name).
    #[serde(default)]
    pub languages: Option<Map<String, Value>>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldSpec>,
    /// Agents: `{"first_name","last_name","email",…}`.
    #[serde(default)]
    pub agents: Vec<Value>,
    /// Requesters: the create body, plus optionally `active`, `has_logged_in`, `vip_user`.
    #[serde(default)]
    pub requesters: Vec<Value>,
    #[serde(default)]
    pub departments: Vec<Value>,
    #[serde(default)]
    pub locations: Vec<Value>,
    #[serde(default)]
    pub requester_groups: Vec<GroupSpec>,
}

/// The `--seed FILE` document: `{"accounts":[AccountSpec,…]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

impl Seed {
    /// Reads a seed file.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Seed> {
        let text = std::fs::read_to_string(path)?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Options of one simulator instance.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Default length of the rate-limit window (60 s, like the real per-minute budget).
    /// Tests may shorten it; accounts may override it with `rate_window_ms`.
    pub rate_window: Duration,
    /// Seed of the random source used by the probabilistic faults (None = from entropy).
    pub fault_seed: Option<u64>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            rate_window: Duration::from_secs(60),
            fault_seed: None,
        }
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("account {0} already exists")]
    Exists(String),
    #[error("invalid domain {0:?}: use letters, digits and '-' only")]
    BadDomain(String),
    #[error("invalid account spec: {0}")]
    Spec(#[from] ApiError),
}

/// Shared state of one simulator: every account, behind locks.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    accounts: RwLock<HashMap<String, Arc<Mutex<Account>>>>,
    options: SimOptions,
    rng: std::sync::Mutex<StdRng>,
}

impl Default for SimState {
    fn default() -> Self {
        Self::new(SimOptions::default())
    }
}

impl SimState {
    /// An empty simulator.
    pub fn new(options: SimOptions) -> Self {
        let rng = match options.fault_seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        SimState {
            inner: Arc::new(Inner {
                accounts: RwLock::new(HashMap::new()),
                options,
                rng: std::sync::Mutex::new(rng),
            }),
        }
    }

    /// The options this simulator runs with.
    pub fn options(&self) -> &SimOptions {
        &self.inner.options
    }

    /// A uniform random number in [0, 1) for fault decisions.
    pub fn roll(&self) -> f64 {
        use rand::Rng;
        self.inner
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .gen::<f64>()
    }

    /// A random index below `n` (n > 0).
    pub fn pick(&self, n: usize) -> usize {
        use rand::Rng;
        self.inner
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .gen_range(0..n)
    }

    /// The account for `domain`, if it exists.
    pub async fn account(&self, domain: &str) -> Option<Arc<Mutex<Account>>> {
        self.inner.accounts.read().await.get(domain).cloned()
    }

    /// All domains, sorted.
    pub async fn domains(&self) -> Vec<String> {
        let mut v: Vec<String> = self.inner.accounts.read().await.keys().cloned().collect();
        v.sort();
        v
    }

    /// Creates an account from a spec.
    pub async fn create_account(&self, spec: &AccountSpec) -> Result<(), AccountError> {
        let d = &spec.domain;
        if d.is_empty()
            || d.starts_with('_')
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(AccountError::BadDomain(d.clone()));
        }
        let mut acct = Account::new(d, self.inner.options.rate_window);
        acct.apply_spec(spec)?;
        let mut map = self.inner.accounts.write().await;
        if map.contains_key(d) {
            return Err(AccountError::Exists(d.clone()));
        }
        map.insert(d.clone(), Arc::new(Mutex::new(acct)));
        Ok(())
    }

    /// Removes an account; false if there was none.
    pub async fn remove_account(&self, domain: &str) -> bool {
        self.inner.accounts.write().await.remove(domain).is_some()
    }

    /// Loads every account of a seed.
    pub async fn load_seed(&self, seed: &Seed) -> Result<(), AccountError> {
        for a in &seed.accounts {
            self.create_account(a).await?;
        }
        Ok(())
    }
}
