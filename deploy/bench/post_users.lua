-- wrk script: POST /scim/v2/Users with a unique userName per request.
-- Env: TOKEN (bearer; empty for none), RATE (total requests/s to pace at,
-- 0 = as fast as possible), CONNS (connections, for pacing).
local token = os.getenv("TOKEN") or ""
local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")
local counter = 0
-- `tag` is a per-thread global set in setup(), so threads never collide.

local threads = 0
function setup(thread)
  -- Unique across threads and across runs (each run starts at another second).
  threads = threads + 1
  thread:set("tag", string.format("%d-%d", os.time(), threads))
end

function request()
  counter = counter + 1
  local name = string.format("bench-%s-%d@example.com", tag, counter)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Bench","familyName":"Mark"},"emails":[{"primary":true,"value":"' .. name ..
    '","type":"work"}],"active":true}'
  local headers = { ["Content-Type"] = "application/scim+json" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", wrk.path, headers, body)
end

function delay()
  if rate > 0 then return 1000 * conns / rate end
  return 0
end
