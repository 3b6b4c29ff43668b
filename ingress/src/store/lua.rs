//! Lua scripts that make each SCIM write atomic in Redis: version bump,
//! document, indexes and outbox entry change together or not at all
//! (`docs/architecture.md` §3, invariants 1 and 3). All keys of one call share
//! the `{tenant}` hash tag.
//!
//! KEYS (every script): 1 user hash, 2 users zset (list order), 3 userName
//! index, 4 externalId index, 5 email index (hash: email → JSON id list),
//! 6 outbox zset, 7 creation-sequence counter, 8 the tenant's pending set
//! (`shared/src/pending.rs`: every write that bumps the version adds the
//! user with `ZADD NX`, so its entry keeps the time it first went out of
//! step; the worker removes it once the current version is applied).
//!
//! The user hash's field names come from `shared/src/records/user.rs`:
//! each script opens with the table `F` rendered from those constants (see
//! `shared/src/records/mod.rs` for why a table and not ARGV), and the tests
//! below check that the scripts name no field any other way.

use shared::records::{lua_fields, user::field};

/// `F`, the user's pending member (ARGV[1] is the id in every script
/// here), the index helpers, then `body`.
fn script(body: &str) -> String {
    format!(
        "{}local PENDING = '{}' .. ARGV[1]\n{INDEX_FNS}{body}",
        lua_fields(field::ALL),
        shared::pending::USER
    )
}

/// Shared helpers: index maintenance for one user. The email index is read
/// and written with one HMGET and one HSET/HDEL for all of a user's emails
/// (at most `scim::user::MAX_VALUES`), not a call per email, so a write holds
/// the shared Redis for a bounded, short time.
const INDEX_FNS: &str = r#"
local function emails_add(k, emails, id)
  if #emails == 0 then return end
  local cur = redis.call('HMGET', k, unpack(emails))
  local set = {}
  for i, e in ipairs(emails) do
    local ids = cur[i] and cjson.decode(cur[i]) or {}
    local has = false
    for _, v in ipairs(ids) do if v == id then has = true break end end
    if not has then
      table.insert(ids, id)
      table.insert(set, e)
      table.insert(set, cjson.encode(ids))
    end
  end
  if #set > 0 then redis.call('HSET', k, unpack(set)) end
end
local function emails_del(k, emails, id)
  if #emails == 0 then return end
  local cur = redis.call('HMGET', k, unpack(emails))
  local set, gone = {}, {}
  for i, e in ipairs(emails) do
    if cur[i] then
      local out = {}
      for _, v in ipairs(cjson.decode(cur[i])) do if v ~= id then table.insert(out, v) end end
      if #out == 0 then
        table.insert(gone, e)
      else
        table.insert(set, e)
        table.insert(set, cjson.encode(out))
      end
    end
  end
  if #set > 0 then redis.call('HSET', k, unpack(set)) end
  if #gone > 0 then redis.call('HDEL', k, unpack(gone)) end
end
local function unindex(id)
  local old = redis.call('HMGET', KEYS[1], F.USER_NAME, F.EXTERNAL_ID, F.EMAILS)
  if old[1] then redis.call('HDEL', KEYS[3], old[1]) end
  if old[2] and old[2] ~= '' then
    if redis.call('HGET', KEYS[4], old[2]) == id then redis.call('HDEL', KEYS[4], old[2]) end
  end
  if old[3] then emails_del(KEYS[5], cjson.decode(old[3]), id) end
end
local function index(id, user_name, external_id, emails_json)
  redis.call('HSET', KEYS[3], user_name, id)
  if external_id ~= '' then redis.call('HSET', KEYS[4], external_id, id) end
  emails_add(KEYS[5], cjson.decode(emails_json), id)
end
"#;

/// Create. ARGV: id, doc, user_name (lower), external_id, emails (JSON),
/// now (RFC 3339), now_ms.
/// Returns {'ok', version, seq} or {'exists', other_id}.
pub fn create() -> String {
    script(
        r#"
local id = ARGV[1]
local taken = redis.call('HGET', KEYS[3], ARGV[3])
if taken then return {'exists', taken} end
local seq = redis.call('INCR', KEYS[7])
redis.call('HSET', KEYS[1], F.DOC, ARGV[2], F.VERSION, 1, F.CREATED, ARGV[6], F.MODIFIED, ARGV[6],
  F.SEQ, seq, F.USER_NAME, ARGV[3], F.EXTERNAL_ID, ARGV[4], F.EMAILS, ARGV[5], F.DELETED, 0)
redis.call('ZADD', KEYS[2], seq, id)
index(id, ARGV[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[7], id)
redis.call('ZADD', KEYS[8], 'NX', ARGV[7], PENDING)
return {'ok', 1, seq}
"#,
    )
}

/// Replace the document of an existing user. ARGV: id, doc, user_name,
/// external_id, emails, now, now_ms, expected version ('' = any).
/// Returns {'ok', version} | {'missing'} | {'precondition', version} |
/// {'exists', other_id}.
pub fn replace() -> String {
    script(
        r#"
local id = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], F.VERSION, F.DELETED)
if not cur[1] or cur[2] == '1' then return {'missing'} end
if ARGV[8] ~= '' and ARGV[8] ~= cur[1] then return {'precondition', tonumber(cur[1])} end
local taken = redis.call('HGET', KEYS[3], ARGV[3])
if taken and taken ~= id then return {'exists', taken} end
unindex(id)
local v = redis.call('HINCRBY', KEYS[1], F.VERSION, 1)
redis.call('HSET', KEYS[1], F.DOC, ARGV[2], F.MODIFIED, ARGV[6],
  F.USER_NAME, ARGV[3], F.EXTERNAL_ID, ARGV[4], F.EMAILS, ARGV[5])
index(id, ARGV[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[7], id)
redis.call('ZADD', KEYS[8], 'NX', ARGV[7], PENDING)
return {'ok', v}
"#,
    )
}

/// SCIM DELETE: the user disappears from SCIM reads and indexes, the hash
/// stays (flagged) so the worker can still converge Freshservice.
/// ARGV: id, now, now_ms, expected version ('' = any).
/// Returns {'ok', version} | {'missing'} | {'precondition', version}.
pub fn delete() -> String {
    script(
        r#"
local id = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], F.VERSION, F.DELETED)
if not cur[1] or cur[2] == '1' then return {'missing'} end
if ARGV[4] ~= '' and ARGV[4] ~= cur[1] then return {'precondition', tonumber(cur[1])} end
unindex(id)
redis.call('ZREM', KEYS[2], id)
local v = redis.call('HINCRBY', KEYS[1], F.VERSION, 1)
redis.call('HSET', KEYS[1], F.DELETED, 1, F.MODIFIED, ARGV[2])
redis.call('HDEL', KEYS[1], F.USER_NAME, F.EXTERNAL_ID, F.EMAILS)
redis.call('ZADD', KEYS[6], ARGV[3], id)
redis.call('ZADD', KEYS[8], 'NX', ARGV[3], PENDING)
return {'ok', v}
"#,
    )
}

/// Undo a create whose event could not be published, so a 503 leaves nothing
/// behind (`docs/architecture.md` §3, invariant 8). Only if nothing wrote
/// after it. ARGV: id. Returns 1 if removed.
pub fn rollback_create() -> String {
    script(
        r#"
local id = ARGV[1]
if redis.call('HGET', KEYS[1], F.VERSION) ~= '1' then return 0 end
unindex(id)
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[6], id)
redis.call('ZREM', KEYS[8], PENDING)
redis.call('DEL', KEYS[1])
return 1
"#,
    )
}

/// The broker confirmed the event for `version`: drop the outbox entry
/// unless a newer write is still waiting for its own confirm.
/// KEYS: 1 user hash, 2 outbox. ARGV: id, version.
pub fn confirm() -> String {
    format!(
        "{}{}",
        lua_fields(field::ALL),
        r#"
local v = tonumber(redis.call('HGET', KEYS[1], F.VERSION) or '0')
if v <= tonumber(ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[1]) return 1 end
return 0
"#
    )
}

#[cfg(test)]
mod tests {
    use shared::records::{lua_field_refs, quoted_fields};

    use super::*;

    fn scripts() -> [(&'static str, String); 5] {
        [
            ("create", create()),
            ("replace", replace()),
            ("delete", delete()),
            ("rollback_create", rollback_create()),
            ("confirm", confirm()),
        ]
    }

    /// Lua yields nil for an unknown `F.X`, and Redis refuses a nil field
    /// only at run time: catch a renamed constant here.
    #[test]
    fn every_field_the_scripts_use_is_a_user_field() {
        for (name, s) in scripts() {
            let refs = lua_field_refs(&s);
            assert!(!refs.is_empty(), "{name} names no field");
            for r in refs {
                assert!(
                    field::ALL.iter().any(|(c, _)| *c == r),
                    "{name} uses F.{r}, not a field of shared::records::user"
                );
            }
        }
    }

    #[test]
    fn no_script_spells_a_field_by_hand() {
        for (name, s) in scripts() {
            let body = s.trim_start_matches(&lua_fields(field::ALL));
            assert_eq!(
                quoted_fields(body, field::ALL),
                Vec::<&str>::new(),
                "{name}"
            );
        }
    }
}
