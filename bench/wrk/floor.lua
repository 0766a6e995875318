-- The floor: an endpoint that touches no database.
dofile("bench/wrk/common.lua")

function request()
  return wrk.format("GET", "/api/v1/health")
end
