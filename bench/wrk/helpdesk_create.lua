-- Peer load: create django-helpdesk 2.6 tickets through its REST API.
--   PEER_AUTHORIZATION=... PEER_QUEUE_ID=... PEER_CREATE_PATH=/api/tickets/ \
--     wrk -t1 -c4 -d5s -s bench/wrk/helpdesk_create.lua http://127.0.0.1:PORT
-- (the three values are those printed by `bench/helpdesk/peer.py prepare`).
-- On exit prints `non2xx=<count>` on stderr: responses with status >= 300, all threads.

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    -- error() would only be printed: wrk would go on sending GET /.
    io.stderr:write("helpdesk_create.lua: " .. name .. " is not set\n")
    os.exit(2)
  end
  return value
end

local path = env("PEER_CREATE_PATH")
local queue = tonumber(env("PEER_QUEUE_ID"))
local headers = {
  ["Authorization"] = env("PEER_AUTHORIZATION"),
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
}

-- Main state: hand each thread an id (and the run's start time, so titles stay unique
-- across runs), keep the threads to read their counters in done().
local threads = {}
local next_id = 1
local started = os.time()

function setup(thread)
  thread:set("id", next_id)
  thread:set("run", started)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Thread states: `id` and `run` are set by setup(); `non2xx` is read back by done().
non2xx = 0
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"queue": %d, "title": "Bench ticket %d-%d-%d", "description": "Opened by wrk.",'
      .. ' "submitter_email": "bench@example.com", "priority": 3}',
    queue, run, id, counter)
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status >= 300 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("non2xx") or 0)
  end
  io.stderr:write(string.format("non2xx=%d\n", total))
end
