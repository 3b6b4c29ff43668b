//! The hashes the real scripts write are exactly the records of
//! `shared/src/records`: the ingress's user scripts
//! (`ingress/src/store/lua.rs`) and the worker's sync writes
//! (`worker/src/converge/record.rs`) run against the shared Redis, and
//! what they leave decodes, and encodes back to the same hash field for
//! field. The unit tests there pin the format to fixtures; this pins the
//! scripts to the types.

use std::{collections::HashMap, time::Duration};

use ingress::store::{users::IndexFields, UserStore, WriteOutcome};
use redis::AsyncCommands;
use serde_json::json;
use shared::{
    keys::Keys,
    records::{
        sync::SyncRecord,
        user::{UserIndex, UserRecord},
        Hash,
    },
};
use worker::{converge::record::SyncStore, lease::Lease};

/// Deletes the test's keys when it ends, passed or panicked.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Ok(mut con) = redis::Client::open(e2e::redis_url()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.0))
            .query(&mut con)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut con);
        }
    }
}

fn setup() -> (Keys, Cleanup) {
    let prefix = format!(
        "records-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    (Keys::new(prefix.clone()), Cleanup(prefix))
}

fn encoded(pairs: Vec<(&'static str, String)>) -> Hash {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[tokio::test]
async fn the_user_scripts_write_exactly_a_user_record() -> anyhow::Result<()> {
    let (keys, _cleanup) = setup();
    let mut r = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let store = UserStore::new(r.clone(), keys.clone());
    let (tenant, id) = ("t1", "u1");
    let read = |r: &mut redis::aio::ConnectionManager| {
        let key = keys.user(tenant, id);
        let mut r = r.clone();
        async move { anyhow::Ok(r.hgetall::<_, Hash>(key).await?) }
    };

    let doc = json!({"userName": "Jo@X.com", "active": true});
    let emails = vec!["jo@x.com".to_string()];
    let ix = IndexFields {
        user_name_lower: "jo@x.com",
        external_id: None,
        email_keys: &emails,
    };
    let WriteOutcome::Written { at, .. } = store.create(tenant, id, &doc, &ix).await? else {
        panic!("create refused");
    };
    let h = read(&mut r).await?;
    let u = UserRecord::decode(&h)?.expect("a user");
    assert_eq!(
        u,
        UserRecord {
            doc: doc.clone(),
            version: 1,
            created: at.clone(),
            modified: at,
            seq: u.seq,
            index: Some(UserIndex {
                user_name_lower: "jo@x.com".into(),
                external_id: None,
                email_keys: emails.clone(),
            }),
            deleted: false,
        }
    );
    assert!(u.seq.is_some());
    assert_eq!(encoded(u.encode()), h, "create writes what encode writes");

    let doc2 = json!({"userName": "jo@x.com", "active": false});
    let ix2 = IndexFields {
        external_id: Some("00u9"),
        ..ix
    };
    store.replace(tenant, id, &doc2, &ix2, Some(1)).await?;
    let h = read(&mut r).await?;
    let u = UserRecord::decode(&h)?.expect("a user");
    assert_eq!((u.version, &u.doc), (2, &doc2));
    assert_eq!(
        u.index.as_ref().unwrap().external_id.as_deref(),
        Some("00u9")
    );
    assert_eq!(encoded(u.encode()), h, "replace writes what encode writes");

    store.delete(tenant, id, None).await?;
    let h = read(&mut r).await?;
    let u = UserRecord::decode(&h)?.expect("a deleted user keeps its hash");
    assert!(u.deleted);
    assert_eq!((u.version, u.index.as_ref()), (3, None));
    assert_eq!(encoded(u.encode()), h, "delete leaves what encode writes");
    assert!(store.get(tenant, id).await?.is_none());
    Ok(())
}

#[tokio::test]
async fn the_worker_writes_exactly_a_sync_record() -> anyhow::Result<()> {
    let (keys, _cleanup) = setup();
    let mut r = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let sync = SyncStore::new(r.clone(), keys.clone());
    let (tenant, id) = ("t1", "u1");
    // Hold the user's lease as a worker would (`worker/src/lease.rs`).
    let lease = Lease {
        key: keys.lease(tenant, id),
        token: 7,
        ttl: Duration::from_secs(60),
    };
    let _: () = r.set_ex(&lease.key, lease.token, 60).await?;

    let snapshot = json!({"primary_email": "jo@x.com"}).as_object().cloned();
    let warnings = vec!["department dropped".to_string()];
    let w = sync
        .record(
            &lease,
            tenant,
            id,
            2,
            Some(17000123),
            snapshot.as_ref(),
            true,
            &warnings,
            Some("boss@x.com"),
        )
        .await?;
    assert_eq!(w, worker::converge::record::Written::Ok);
    let h: HashMap<String, String> = r.hgetall(keys.sync(tenant, id)).await?;
    let s = SyncRecord::decode(&h);
    assert_eq!(s.applied_version, Some(2));
    assert_eq!(s.requester_id, Some(17000123));
    assert_eq!(s.snapshot, snapshot);
    assert_eq!(s.active, Some(true));
    assert_eq!(s.warnings, warnings);
    assert_eq!(s.attempts, Some(0));
    assert_eq!(s.waiting_for.as_deref(), Some("boss@x.com"));
    assert_eq!(encoded(s.encode()), h, "record writes what encode writes");

    sync.failure(tenant, id, "Freshservice said 409", 3, Some("conflict"))
        .await?;
    let h: HashMap<String, String> = r.hgetall(keys.sync(tenant, id)).await?;
    let s = SyncRecord::decode(&h);
    assert_eq!(s.last_error.as_deref(), Some("Freshservice said 409"));
    assert_eq!((s.attempts, s.dead.as_deref()), (Some(3), Some("conflict")));
    assert_eq!(encoded(s.encode()), h, "failure writes what encode writes");
    Ok(())
}

#[tokio::test]
async fn the_group_scripts_write_exactly_a_group_record() -> anyhow::Result<()> {
    use ingress::{
        scim::group::{GroupDoc, MemberDelta, Members},
        store::{groups::Expect, GroupStore},
    };
    use shared::records::group::GroupRecord;
    let (keys, _cleanup) = setup();
    let mut r = shared::redis_conn::connect(&e2e::redis_url()).await?;
    let store = GroupStore::new(r.clone(), keys.clone());
    let (tenant, id) = ("t1", "g1");
    // A live user to be a member (the script checks the users zset).
    let _: () = r.zadd(keys.users(tenant), "u1", 1).await?;
    let doc = GroupDoc {
        display_name: "Branch Managers".into(),
        external_id: Some("8aa1".into()),
    };
    let members: Members = [("u1".to_string(), "u1@x".to_string())].into();
    let none = Members::new();
    let delta = MemberDelta::between(&none, &members);
    let joining: Vec<&String> = delta.joining(&none).collect();
    let out = store
        .write(tenant, id, &doc, &delta, &joining, Expect::Create)
        .await?;
    assert!(
        matches!(out, WriteOutcome::Written { version: 1, .. }),
        "{out:?}"
    );
    let h: Hash = r.hgetall(keys.group(tenant, id)).await?;
    let rec = GroupRecord::decode(&h)?.expect("a group");
    assert_eq!(
        encoded(rec.encode()),
        h,
        "create writes a GroupRecord, field for field"
    );
    assert_eq!(rec.display_name(), "Branch Managers");
    assert_eq!(rec.name_key.as_deref(), Some("branch managers"));
    let m: HashMap<String, String> = r.hgetall(keys.group_members(tenant, id)).await?;
    assert_eq!(m, HashMap::from([("u1".to_string(), "u1@x".to_string())]));
    let rev: Option<String> = r.hget(keys.user_groups(tenant), "u1").await?;
    assert_eq!(rev.as_deref(), Some(r#"["g1"]"#));

    // Delete: flagged, index fields and members gone, the reverse entry too.
    let out = store.delete(tenant, id, 1).await?;
    assert!(
        matches!(out, WriteOutcome::Written { version: 2, .. }),
        "{out:?}"
    );
    let h: Hash = r.hgetall(keys.group(tenant, id)).await?;
    let rec = GroupRecord::decode(&h)?.expect("the hash stays");
    assert!(rec.deleted && rec.name_key.is_none());
    assert_eq!(encoded(rec.encode()), h);
    let gone: bool = r.exists(keys.group_members(tenant, id)).await?;
    assert!(!gone);
    let rev: Option<String> = r.hget(keys.user_groups(tenant), "u1").await?;
    assert_eq!(rev, None);
    Ok(())
}
