//! A tenant's choices about the mapping, made in the settings page's
//! mapping editor (`ingress/src/web/settings.rs`) and read by the worker on
//! every convergence (`worker/src/converge/desired.rs`): which default rows
//! are switched off, which custom requester field each enterprise attribute
//! fills, and whether a department Okta names but the account lacks is
//! created.
//!
//! A row switched off is left out of the desired body, so the field keeps
//! whatever Freshservice holds (`super::diff`: keys absent from the desired
//! body are not touched). The record is stored as JSON by
//! `shared::records::settings`; every member has a default, so a tenant
//! that never saved the editor maps everything, as before it existed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The enterprise extension's URN; the ingress stores its attributes under it.
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A default mapping row an admin may switch off. `first_name` and
/// `primary_email` are not among them: a requester cannot be written or
/// found without them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Row {
    LastName,
    SecondaryEmails,
    JobTitle,
    WorkPhone,
    MobilePhone,
    Address,
    Language,
    TimeZone,
    Department,
    Manager,
    CustomFields,
}

impl Row {
    pub const ALL: [Row; 11] = [
        Row::LastName,
        Row::SecondaryEmails,
        Row::JobTitle,
        Row::WorkPhone,
        Row::MobilePhone,
        Row::Address,
        Row::Language,
        Row::TimeZone,
        Row::Department,
        Row::Manager,
        Row::CustomFields,
    ];

    /// The form field and stored name (`job_title`).
    pub fn key(self) -> &'static str {
        match self {
            Row::LastName => "last_name",
            Row::SecondaryEmails => "secondary_emails",
            Row::JobTitle => "job_title",
            Row::WorkPhone => "work_phone",
            Row::MobilePhone => "mobile_phone",
            Row::Address => "address",
            Row::Language => "language",
            Row::TimeZone => "time_zone",
            Row::Department => "department",
            Row::Manager => "manager",
            Row::CustomFields => "custom_fields",
        }
    }

    pub fn from_key(key: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|r| r.key() == key)
    }

    /// What Okta sends for this row.
    pub fn scim(self) -> &'static str {
        match self {
            Row::LastName => "name.familyName",
            Row::SecondaryEmails => "emails (other than the primary)",
            Row::JobTitle => "title",
            Row::WorkPhone => "phoneNumbers[type eq \"work\"]",
            Row::MobilePhone => "phoneNumbers[type eq \"mobile\"]",
            Row::Address => "addresses",
            Row::Language => "locale",
            Row::TimeZone => "timezone",
            Row::Department => "enterprise department",
            Row::Manager => "enterprise manager.value",
            Row::CustomFields => "custom_fields.* (Okta's custom attributes)",
        }
    }

    /// The requester attribute it writes.
    pub fn freshservice(self) -> &'static str {
        match self {
            Row::LastName => "last_name",
            Row::SecondaryEmails => "secondary_emails",
            Row::JobTitle => "job_title",
            Row::WorkPhone => "work_phone_number",
            Row::MobilePhone => "mobile_phone_number",
            Row::Address => "address",
            Row::Language => "language",
            Row::TimeZone => "time_zone",
            Row::Department => "department_ids (matched by name)",
            Row::Manager => "reporting_manager_id",
            Row::CustomFields => "custom_fields of the same name",
        }
    }
}

/// An enterprise attribute that may fill a custom requester field
/// (Freshservice requesters have no built-in field for them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EnterpriseAttr {
    EmployeeNumber,
    CostCenter,
    Organization,
    Division,
}

impl EnterpriseAttr {
    pub const ALL: [EnterpriseAttr; 4] = [
        EnterpriseAttr::EmployeeNumber,
        EnterpriseAttr::CostCenter,
        EnterpriseAttr::Organization,
        EnterpriseAttr::Division,
    ];

    /// The SCIM attribute name, as stored under [`ENTERPRISE_URN`].
    pub fn scim(self) -> &'static str {
        match self {
            EnterpriseAttr::EmployeeNumber => "employeeNumber",
            EnterpriseAttr::CostCenter => "costCenter",
            EnterpriseAttr::Organization => "organization",
            EnterpriseAttr::Division => "division",
        }
    }

    pub fn from_scim(name: &str) -> Option<EnterpriseAttr> {
        EnterpriseAttr::ALL
            .into_iter()
            .find(|a| a.scim().eq_ignore_ascii_case(name))
    }
}

/// The tenant's mapping choices. `Default` is the mapping as shipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingSettings {
    /// Default rows switched off.
    #[serde(default)]
    pub off: BTreeSet<Row>,
    /// Enterprise attribute → custom requester field name.
    #[serde(default)]
    pub enterprise: BTreeMap<EnterpriseAttr, String>,
    /// Create a department Okta names when the account has none of that name.
    #[serde(default)]
    pub create_missing_departments: bool,
    /// Custom fields an enterprise attribute used to fill and no longer does:
    /// values already written stay (nothing clears them), like a row
    /// switched off. Kept so the diff does not mistake them for an Okta
    /// custom attribute that was cleared.
    #[serde(default)]
    pub released: BTreeSet<String>,
}

impl MappingSettings {
    pub fn is_on(&self, row: Row) -> bool {
        !self.off.contains(&row)
    }

    /// Points the enterprise attributes at new fields (`None`: not mapped),
    /// remembering the fields that lose their attribute in `released`.
    pub fn set_enterprise(&mut self, new: BTreeMap<EnterpriseAttr, String>) {
        for (attr, old) in &self.enterprise {
            if new.get(attr) != Some(old) && !new.values().any(|f| f == old) {
                self.released.insert(old.clone());
            }
        }
        for field in new.values() {
            self.released.remove(field);
        }
        self.enterprise = new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_record_is_the_shipped_mapping() {
        let s: MappingSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, MappingSettings::default());
        assert!(Row::ALL.iter().all(|r| s.is_on(*r)));
    }

    #[test]
    fn round_trip_and_stable_names() {
        let mut s = MappingSettings::default();
        s.off.insert(Row::WorkPhone);
        s.enterprise
            .insert(EnterpriseAttr::EmployeeNumber, "employee_no".into());
        s.create_missing_departments = true;
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(
            text,
            r#"{"off":["work_phone"],"enterprise":{"employeeNumber":"employee_no"},"create_missing_departments":true,"released":[]}"#
        );
        assert_eq!(serde_json::from_str::<MappingSettings>(&text).unwrap(), s);
        for r in Row::ALL {
            assert_eq!(Row::from_key(r.key()), Some(r));
        }
    }

    #[test]
    fn unmapped_fields_are_released_and_remapped_ones_reclaimed() {
        let mut s = MappingSettings::default();
        s.set_enterprise(BTreeMap::from([
            (EnterpriseAttr::EmployeeNumber, "emp".to_string()),
            (EnterpriseAttr::CostCenter, "cc".to_string()),
        ]));
        assert!(s.released.is_empty());
        // costCenter unmapped, employeeNumber moved to another field.
        s.set_enterprise(BTreeMap::from([(
            EnterpriseAttr::EmployeeNumber,
            "emp2".to_string(),
        )]));
        assert_eq!(
            s.released,
            BTreeSet::from(["cc".to_string(), "emp".to_string()])
        );
        s.set_enterprise(BTreeMap::from([(
            EnterpriseAttr::Division,
            "cc".to_string(),
        )]));
        assert_eq!(
            s.released,
            BTreeSet::from(["emp".to_string(), "emp2".to_string()])
        );
    }
}
