//! Discovery documents.

use serde_json::Value;

use crate::scim::discovery::{
    resource_types, schema_by_id, schemas, service_provider_config, CustomFieldSchema,
};
use crate::scim::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

fn custom() -> Vec<CustomFieldSchema> {
    vec![CustomFieldSchema {
        name: "cost_center".into(),
        label: "Cost center".into(),
        scim_type: "string",
        canonical_values: vec!["A".into(), "B".into()],
    }]
}

#[test]
fn spc() {
    let s = service_provider_config("https://h/scim/v2/", 200);
    assert_eq!(s["patch"]["supported"], true);
    assert_eq!(s["bulk"]["supported"], false);
    assert_eq!(s["filter"]["maxResults"], 200);
    assert_eq!(s["sort"]["supported"], false);
    assert_eq!(s["etag"]["supported"], true);
    assert_eq!(s["changePassword"]["supported"], false);
    assert_eq!(s["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        s["meta"]["location"],
        "https://h/scim/v2/ServiceProviderConfig"
    );
}

#[test]
fn resource_types_list() {
    let r = resource_types("https://h/scim/v2");
    assert_eq!(r["totalResults"], 2);
    assert_eq!(r["Resources"][0]["id"], "User");
    assert_eq!(
        r["Resources"][0]["schemaExtensions"][0]["schema"],
        ENTERPRISE_USER_SCHEMA
    );
    assert_eq!(r["Resources"][1]["id"], "Group");
    assert_eq!(r["Resources"][1]["endpoint"], "/Groups");
    assert_eq!(
        r["Resources"][1]["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    assert!(r["Resources"].as_array().unwrap().len() == 2);
}

fn attr<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn user_schema_shape() {
    let all = schemas(&custom());
    assert_eq!(all["totalResults"], 3);
    let user = &all["Resources"][0];
    assert_eq!(user["id"], USER_SCHEMA);
    let un = attr(user, "userName");
    assert_eq!(un["required"], true);
    assert_eq!(un["caseExact"], false);
    assert_eq!(un["uniqueness"], "server");
    assert_eq!(attr(user, "password")["returned"], "never");
    assert_eq!(attr(user, "password")["mutability"], "writeOnly");
    assert_eq!(attr(user, "groups")["mutability"], "readOnly");
    assert_eq!(attr(user, "active")["type"], "boolean");
    let emails = attr(user, "emails");
    assert_eq!(emails["multiValued"], true);
    assert!(emails["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "primary"));
    let cf = attr(user, "custom_fields");
    assert_eq!(cf["type"], "complex");
    assert_eq!(cf["subAttributes"][0]["name"], "cost_center");
    assert_eq!(
        cf["subAttributes"][0]["canonicalValues"],
        serde_json::json!(["A", "B"])
    );
    for a in user["attributes"].as_array().unwrap() {
        for k in [
            "name",
            "type",
            "multiValued",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        ] {
            assert!(a.get(k).is_some(), "{} lacks {k}", a["name"]);
        }
    }
}

#[test]
fn schema_lookup() {
    assert!(schema_by_id(&[], "urn:ietf:params:scim:schemas:core:2.0:user").is_some());
    assert_eq!(schema_by_id(&[], GROUP_SCHEMA).unwrap()["name"], "Group");
    assert!(schema_by_id(&[], ENTERPRISE_USER_SCHEMA).is_some());
    assert!(schema_by_id(&[], "urn:nope").is_none());
}
