//! Lua scripts that make each SCIM group write atomic in Redis: version
//! bump, document, indexes, members, the users' reverse index and the
//! group outbox entry change together or not at all (`docs/architecture.md`
//! §3, invariants 1 and 3). All keys of one call share the `{tenant}` tag.
//!
//! KEYS (every script but `confirm`): 1 group hash, 2 groups zset (list
//! order), 3 displayName index, 4 externalId index, 5 members hash,
//! 6 user → groups hash, 7 group outbox zset, 8 creation-sequence counter,
//! 9 users zset (the tenant's live users), 10 the tenant's pending set
//! (`shared/src/pending.rs`, as in `lua.rs`).
//!
//! Field names come from `shared/src/records/group.rs` through the `F`
//! table, as in `lua.rs`.
//!
//! Member lists travel as JSON and are applied in chunks of [`CHUNK`] so
//! no `unpack` exceeds Lua's stack, whatever the group's size.

use shared::records::{group::field, lua_fields};

/// Values per HMGET/HSET/ZMSCORE call inside a script.
const CHUNK: usize = 500;

/// `F`, the chunk size, the group's pending member (ARGV[1] is the id in
/// every script here), the helpers, then `body`.
fn script(body: &str) -> String {
    format!(
        "{}local CHUNK = {CHUNK}\nlocal PENDING = '{}' .. ARGV[1]\n{HELPERS}{body}",
        lua_fields(field::ALL),
        shared::pending::GROUP
    )
}

/// Member and index helpers shared by the scripts.
const HELPERS: &str = r#"
local function chunks(list, f)
  local i = 1
  while i <= #list do
    local part = {}
    for j = i, math.min(i + CHUNK - 1, #list) do table.insert(part, list[j]) end
    f(part)
    i = i + CHUNK
  end
end
-- Adds (or removes) group `gid` in the reverse index entries of `uids`.
local function reverse(uids, gid, add)
  chunks(uids, function(part)
    local cur = redis.call('HMGET', KEYS[6], unpack(part))
    local set, gone = {}, {}
    for i, uid in ipairs(part) do
      local ids = cur[i] and cjson.decode(cur[i]) or {}
      local out, has = {}, false
      for _, g in ipairs(ids) do
        if g == gid then has = true end
        if not (g == gid and not add) then table.insert(out, g) end
      end
      if add and not has then table.insert(out, gid) end
      if #out == 0 then
        table.insert(gone, uid)
      elseif add ~= has or not add then
        table.insert(set, uid)
        table.insert(set, cjson.encode(out))
      end
    end
    if #set > 0 then redis.call('HSET', KEYS[6], unpack(set)) end
    if #gone > 0 then redis.call('HDEL', KEYS[6], unpack(gone)) end
  end)
end
-- The first of `uids` that is no live user of the tenant, or nil.
local function unknown(uids)
  local bad = nil
  chunks(uids, function(part)
    if bad then return end
    local scores = redis.call('ZMSCORE', KEYS[9], unpack(part))
    for i, s in ipairs(scores) do
      if not s then bad = part[i] return end
    end
  end)
  return bad
end
-- Applies a member delta: `put` is a list of {uid, display}, `remove` of uids.
local function members(gid, put, remove, joining)
  if #put > 0 then
    local flat = {}
    for _, p in ipairs(put) do table.insert(flat, p[1]) table.insert(flat, p[2]) end
    chunks(flat, function(part) redis.call('HSET', KEYS[5], unpack(part)) end)
  end
  if #joining > 0 then reverse(joining, gid, true) end
  if #remove > 0 then
    chunks(remove, function(part) redis.call('HDEL', KEYS[5], unpack(part)) end)
    reverse(remove, gid, false)
  end
end
local function unindex(id)
  local old = redis.call('HMGET', KEYS[1], F.NAME_KEY, F.EXTERNAL_ID)
  if old[1] and redis.call('HGET', KEYS[3], old[1]) == id then redis.call('HDEL', KEYS[3], old[1]) end
  if old[2] and old[2] ~= '' and redis.call('HGET', KEYS[4], old[2]) == id then
    redis.call('HDEL', KEYS[4], old[2])
  end
end
local function index(id, name_key, external_id)
  redis.call('HSET', KEYS[3], name_key, id)
  if external_id ~= '' then redis.call('HSET', KEYS[4], external_id, id) end
end
"#;

/// Create or update. ARGV: 1 id, 2 doc, 3 name key, 4 externalId (`''`:
/// none), 5 now (RFC 3339), 6 now_ms, 7 expected version (`create` for a
/// create, `''` for any), 8 put (JSON `[[uid, display], …]`), 9 remove
/// (JSON `[uid, …]`), 10 joining (JSON `[uid, …]`: the ids of `put` that
/// are not members yet, checked to be live users).
/// Returns {'ok', version} | {'missing'} | {'precondition', version} |
/// {'exists', other_id} | {'unknown', uid}.
pub fn write() -> String {
    script(
        r#"
local id = ARGV[1]
local create = ARGV[7] == 'create'
if create then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {'precondition', 0} end
else
  local cur = redis.call('HMGET', KEYS[1], F.VERSION, F.DELETED)
  if not cur[1] or cur[2] == '1' then return {'missing'} end
  if ARGV[7] ~= '' and ARGV[7] ~= cur[1] then return {'precondition', tonumber(cur[1])} end
end
local taken = redis.call('HGET', KEYS[3], ARGV[3])
if taken and taken ~= id then return {'exists', taken} end
local joining = cjson.decode(ARGV[10])
local bad = unknown(joining)
if bad then return {'unknown', bad} end
local v
if create then
  local seq = redis.call('INCR', KEYS[8])
  redis.call('HSET', KEYS[1], F.DOC, ARGV[2], F.VERSION, 1, F.CREATED, ARGV[5], F.MODIFIED, ARGV[5],
    F.SEQ, seq, F.NAME_KEY, ARGV[3], F.EXTERNAL_ID, ARGV[4], F.DELETED, 0)
  redis.call('ZADD', KEYS[2], seq, id)
  v = 1
else
  unindex(id)
  v = redis.call('HINCRBY', KEYS[1], F.VERSION, 1)
  redis.call('HSET', KEYS[1], F.DOC, ARGV[2], F.MODIFIED, ARGV[5], F.NAME_KEY, ARGV[3], F.EXTERNAL_ID, ARGV[4])
end
index(id, ARGV[3], ARGV[4])
members(id, cjson.decode(ARGV[8]), cjson.decode(ARGV[9]), joining)
redis.call('ZADD', KEYS[7], ARGV[6], id)
redis.call('ZADD', KEYS[10], 'NX', ARGV[6], PENDING)
return {'ok', v}
"#,
    )
}

/// SCIM DELETE: the group leaves reads, indexes and its members' reverse
/// entries; the hash stays (flagged) so the worker can delete the
/// requester group. ARGV: 1 id, 2 now, 3 now_ms, 4 expected version (`''`
/// = any). Returns {'ok', version} | {'missing'} | {'precondition', version}.
pub fn delete() -> String {
    script(
        r#"
local id = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], F.VERSION, F.DELETED)
if not cur[1] or cur[2] == '1' then return {'missing'} end
if ARGV[4] ~= '' and ARGV[4] ~= cur[1] then return {'precondition', tonumber(cur[1])} end
unindex(id)
redis.call('ZREM', KEYS[2], id)
reverse(redis.call('HKEYS', KEYS[5]), id, false)
redis.call('DEL', KEYS[5])
local v = redis.call('HINCRBY', KEYS[1], F.VERSION, 1)
redis.call('HSET', KEYS[1], F.DELETED, 1, F.MODIFIED, ARGV[2])
redis.call('HDEL', KEYS[1], F.NAME_KEY, F.EXTERNAL_ID)
redis.call('ZADD', KEYS[7], ARGV[3], id)
redis.call('ZADD', KEYS[10], 'NX', ARGV[3], PENDING)
return {'ok', v}
"#,
    )
}

/// Undo a create whose event could not be published, only if nothing wrote
/// after it. ARGV: id. Returns 1 if removed.
pub fn rollback_create() -> String {
    script(
        r#"
local id = ARGV[1]
if redis.call('HGET', KEYS[1], F.VERSION) ~= '1' then return 0 end
unindex(id)
redis.call('ZREM', KEYS[2], id)
reverse(redis.call('HKEYS', KEYS[5]), id, false)
redis.call('DEL', KEYS[5])
redis.call('ZREM', KEYS[7], id)
redis.call('ZREM', KEYS[10], PENDING)
redis.call('DEL', KEYS[1])
return 1
"#,
    )
}

/// The broker confirmed the event for `version`: drop the outbox entry
/// unless a newer write is still waiting for its own confirm.
/// KEYS: 1 group hash, 2 group outbox. ARGV: id, version.
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

    fn scripts() -> [(&'static str, String); 4] {
        [
            ("write", write()),
            ("delete", delete()),
            ("rollback_create", rollback_create()),
            ("confirm", confirm()),
        ]
    }

    #[test]
    fn every_field_the_scripts_use_is_a_group_field() {
        for (name, s) in scripts() {
            let refs = lua_field_refs(&s);
            assert!(!refs.is_empty(), "{name} names no field");
            for r in refs {
                assert!(
                    field::ALL.iter().any(|(c, _)| *c == r),
                    "{name} uses F.{r}, not a field of shared::records::group"
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
