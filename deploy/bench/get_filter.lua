-- wrk script: GET /Users?filter=userName eq "seed-N@bench.local" for a
-- random N in 1..SEEDS (the users the benchmark created beforehand).
-- Env: TOKEN, SEEDS, RATE, CONNS as in post_users.lua.
local token = os.getenv("TOKEN") or ""
local seeds = tonumber(os.getenv("SEEDS") or "1000")
local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")

function request()
  local n = math.random(1, seeds)
  local path = wrk.path .. "?filter=userName%20eq%20%22seed-" .. n .. "%40bench.local%22"
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", path, headers)
end

function delay()
  if rate > 0 then return 1000 * conns / rate end
  return 0
end
