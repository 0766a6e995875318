-- GET /api/v1/benefits, each request as the next of many partners' users.
dofile("bench/wrk/common.lua")

local tokens = read_tokens()
local counter = 0

function request()
  counter = counter + 1
  local token = tokens[((counter * 7919 + id * 104729) % #tokens) + 1]
  return wrk.format("GET", "/api/v1/benefits", {["Authorization"] = "Bearer " .. token})
end
