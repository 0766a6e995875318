-- The peer: create django-helpdesk 2.6 tickets through its REST API.
--   PEER_AUTHORIZATION=... PEER_QUEUE_ID=... PEER_CREATE_PATH=/api/tickets/ \
--     wrk -t1 -c4 -d5s -s bench/wrk/helpdesk_create.lua http://127.0.0.1:PORT
-- (the three values are those printed by `bench/helpdesk/peer.py prepare`).
dofile("bench/wrk/common.lua")

local path = env("PEER_CREATE_PATH")
local queue = tonumber(env("PEER_QUEUE_ID"))
local headers = {
  ["Authorization"] = env("PEER_AUTHORIZATION"),
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
}
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"queue": %d, "title": "Bench ticket %d-%d-%d", "description": "Opened by wrk.",'
      .. ' "submitter_email": "bench@example.com", "priority": 3}',
    queue, run, id, counter)
  return wrk.format("POST", path, headers, body)
end
