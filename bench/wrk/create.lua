-- POST /api/v1/support-requests: many partners' users, on-premises products (limited
-- Microsoft Product Support) and cloud ones (unlimited Signature Cloud Support for Gold in
-- a cloud competency, 5 incidents topped up for the others), each with its own
-- Idempotency-Key.
dofile("bench/wrk/common.lua")

local tokens = read_tokens()
local onprem = tonumber(env("PRODUCT_ONPREM"))
local cloud = tonumber(env("PRODUCT_CLOUD"))
local counter = 0

function request()
  counter = counter + 1
  local token = tokens[((counter * 7919 + id * 104729) % #tokens) + 1]
  local product = (counter % 2 == 0) and cloud or onprem
  local body = string.format(
    '{"product_id": %d, "severity": "B", "title": "Bench %d-%d-%d",'
      .. ' "description": "Opened by wrk."}', product, run, id, counter)
  return wrk.format("POST", "/api/v1/support-requests", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("wrk-%d-%d-%d", run, id, counter),
  }, body)
end
