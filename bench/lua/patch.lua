-- PATCH /api/v1/config/me as merge patches that always change something (a counter value
-- unique per request), rotating the team tokens of the file given as first script argument:
--   wrk ... -s patch.lua URL -- tokens.txt RUN_ID   (RUN_ID keeps values unique across runs)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local tokens, counter, index, tag

function init(args)
  tokens = common.read_lines(args[1])
  local t = tonumber(thread_index) or 0
  counter = 0
  index = (t * 37) % #tokens
  tag = string.format("%s-t%d", args[2] or "run", t)
end

function request()
  counter = counter + 1
  index = index % #tokens + 1
  local body = string.format(
    '{"config":{"bench_write":{"counter":"%s-%d"}},"reason":"bench write"}', tag, counter)
  return wrk.format("PATCH", "/api/v1/config/me", {
    ["Authorization"] = "Bearer " .. tokens[index],
    ["Content-Type"] = "application/json",
  }, body)
end

function done(summary, latency, requests_)
  common.report(summary, latency)
end
