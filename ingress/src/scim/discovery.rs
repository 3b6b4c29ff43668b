//! Discovery documents (RFC 7644 §4, RFC 7643 §5–§8): ServiceProviderConfig,
//! ResourceTypes and Schemas, built from the same attribute table the
//! filter, PATCH and validation code use. The User schema lists the tenant's
//! Freshservice custom fields as sub-attributes of `custom_fields`.

use serde_json::{json, Map, Value};

use super::list::list_response;
use super::schema::{AttrDef, AttrType, ENTERPRISE_ATTRS, GROUP_ATTRS, USER_ATTRS};
use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};

/// One tenant custom field, as reported under `custom_fields` in the User schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldSchema {
    /// Freshservice field name (the `NAME` of `custom_fields.NAME`).
    pub name: String,
    /// Label shown in Freshservice.
    pub label: String,
    /// "string" | "integer" | "decimal" | "boolean" | "dateTime".
    pub scim_type: &'static str,
    /// Choices of a dropdown field; empty otherwise.
    pub canonical_values: Vec<String>,
}

fn base_url(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// `/ServiceProviderConfig` (RFC 7643 §5).
pub fn service_provider_config(base: &str, max_results: usize) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the bearer token issued when the Freshservice account was connected to the bridge.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base_url(base)),
        }
    })
}

/// `/ResourceTypes` (RFC 7643 §6): User (with the enterprise extension)
/// and Group.
pub fn resource_types(base: &str) -> Value {
    let b = base_url(base);
    list_response(
        2,
        1,
        vec![
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
                "meta": {"resourceType": "ResourceType", "location": format!("{b}/ResourceTypes/User")}
            }),
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "Group",
                "name": "Group",
                "endpoint": "/Groups",
                "description": "Group (a Freshservice requester group)",
                "schema": GROUP_SCHEMA,
                "schemaExtensions": [],
                "meta": {"resourceType": "ResourceType", "location": format!("{b}/ResourceTypes/Group")}
            }),
        ],
    )
}

fn attr_json(def: &AttrDef, custom: &[CustomFieldSchema]) -> Value {
    let mut a = Map::new();
    a.insert("name".into(), json!(def.name));
    a.insert("type".into(), json!(def.ty.as_str()));
    a.insert("multiValued".into(), json!(def.multi));
    a.insert("description".into(), json!(def.description));
    a.insert("required".into(), json!(def.required));
    if !def.canonical.is_empty() {
        a.insert("canonicalValues".into(), json!(def.canonical));
    }
    a.insert("caseExact".into(), json!(def.case_exact));
    a.insert("mutability".into(), json!(def.mutability.as_str()));
    a.insert("returned".into(), json!(def.returned.as_str()));
    a.insert("uniqueness".into(), json!(def.uniqueness.as_str()));
    if def.ty == AttrType::Reference {
        a.insert("referenceTypes".into(), json!(def.reference_types));
    }
    if def.ty == AttrType::Complex {
        let subs: Vec<Value> = if def.open {
            custom.iter().map(custom_json).collect()
        } else {
            def.sub.iter().map(|s| attr_json(s, custom)).collect()
        };
        a.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(a)
}

fn custom_json(f: &CustomFieldSchema) -> Value {
    let mut a = Map::new();
    a.insert("name".into(), json!(f.name));
    a.insert("type".into(), json!(f.scim_type));
    a.insert("multiValued".into(), json!(false));
    a.insert("description".into(), json!(f.label));
    a.insert("required".into(), json!(false));
    if !f.canonical_values.is_empty() {
        a.insert("canonicalValues".into(), json!(f.canonical_values));
    }
    a.insert("caseExact".into(), json!(false));
    a.insert("mutability".into(), json!("readWrite"));
    a.insert("returned".into(), json!("default"));
    a.insert("uniqueness".into(), json!("none"));
    Value::Object(a)
}

fn schema_doc(
    id: &str,
    name: &str,
    description: &str,
    attrs: &[AttrDef],
    custom: &[CustomFieldSchema],
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(|a| attr_json(a, custom)).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema"}
    })
}

fn all_schemas(custom: &[CustomFieldSchema]) -> Vec<Value> {
    vec![
        schema_doc(USER_SCHEMA, "User", "User Account", USER_ATTRS, custom),
        schema_doc(
            ENTERPRISE_USER_SCHEMA,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE_ATTRS,
            custom,
        ),
        schema_doc(GROUP_SCHEMA, "Group", "Group", GROUP_ATTRS, custom),
    ]
}

/// `/Schemas` (RFC 7643 §7, §8.7): core User, enterprise User, Group.
pub fn schemas(custom_fields: &[CustomFieldSchema]) -> Value {
    let all = all_schemas(custom_fields);
    list_response(all.len(), 1, all)
}

/// `/Schemas/{urn}` (URN compared case-insensitively).
pub fn schema_by_id(custom_fields: &[CustomFieldSchema], id: &str) -> Option<Value> {
    all_schemas(custom_fields)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}
