-- GET /api/v1/support-requests?limit=50: a program operator (Django staff) reading the
-- newest page of every organization's requests, with the token `partnerdesk createtoken`
-- printed for it (bench/run.py creates the operator after migrating).
--   OPERATOR_TOKEN=pd_... wrk -t1 -c16 -d8s -s bench/wrk/operator_list.lua http://127.0.0.1:PORT
dofile("bench/wrk/common.lua")

local headers = {["Authorization"] = "Bearer " .. env("OPERATOR_TOKEN")}

function request()
  return wrk.format("GET", "/api/v1/support-requests?limit=50", headers)
end
