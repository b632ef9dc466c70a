-- GET one path, rotating the bearer tokens listed (one a line) in the file given as first
-- script argument:  wrk ... -s read.lua URL -- tokens.txt [path]
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local requests, next_index

function init(args)
  local tokens = common.read_lines(args[1])
  local path = args[2] or "/api/v1/config/me"
  requests = {}
  for i, token in ipairs(tokens) do
    requests[i] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
  end
  -- threads start at different tokens so they do not move in step
  next_index = ((tonumber(thread_index) or 0) * 37) % #requests
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, requests_)
  common.report(summary, latency)
end
