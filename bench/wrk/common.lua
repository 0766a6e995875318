-- Shared by the scenario scripts (loaded with dofile from the repository root):
-- environment checks, one id per thread, a count of non-2xx answers across threads, and
-- one JSON line of results on stdout at the end, which bench/run.py reads.

function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    -- error() would only be printed: wrk would go on sending GET /.
    io.stderr:write(name .. " is not set\n")
    os.exit(2)
  end
  return value
end

local threads = {}
local next_id = 1
local started = os.time()

function setup(thread)
  thread:set("id", next_id)
  thread:set("run", started)
  next_id = next_id + 1
  table.insert(threads, thread)
end

non2xx = 0

function response(status, headers, body)
  if status >= 300 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d,'
      .. ' "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    failed, errors))
end

-- The writers' tokens, one a line (bench/generate_dataset.py --tokens-file).
function read_tokens()
  local tokens = {}
  for line in io.lines(env("TOKENS_FILE")) do
    if line ~= "" then table.insert(tokens, line) end
  end
  return tokens
end
