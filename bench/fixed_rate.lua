-- wrk at a fixed rate, with latencies counted from each request's *scheduled* time.
--
-- Used by bench/api_load.py --client wrk (read it there). wrk itself is closed-loop: a
-- connection sends its next request only after the answer to the last one, and wrk's own
-- latency runs from the moment a request was sent. A server that stalls therefore slows
-- the client down and the requests that should have been sent meanwhile are never timed
-- (coordinated omission). This script paces every thread to RATE requests a second on one
-- schedule shared by its connections: slot k is due at start + k / RATE. A connection that
-- becomes free claims the next slot in delay() and waits for it; if the slot is already
-- past (every connection was busy), it sends at once and the request's latency still
-- counts from the slot's due time, so the queue shows in the percentiles (as wrk2 does).
-- Each request carries its slot in X-Request-Id, which the servers echo; response() looks
-- the slot up. done() prints one JSON line: the corrected percentiles (ms), wrk's own
-- uncorrected ones for comparison, and how many scheduled requests were answered.
--
-- wrk -t1 -c64 -d12s -s fixed_rate.lua URL -- RATE WARMUP_S PATHS_FILE [BODIES_FILE]
--   RATE: requests a second of each wrk thread; PATHS_FILE: one request path a line, used
--   in turn; BODIES_FILE: one JSON body a line, POSTed in turn, "{n}" replaced by the
--   request's id (a new settlement id each time).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } gongji_timespec;
  int clock_gettime(int clock, gongji_timespec *ts);
]]
local ts = ffi.new("gongji_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local interval, measure_from, next_slot
local bodies, paths, claimed, first, last = {}, {}, {}, 1, 0
local starts = {}
local sent, answered = 0, 0
local prefix
-- globals: done() reads them from each thread with thread:get()
latencies, statuses, unmatched = {}, {}, 0

function init(args)
  interval = 1 / tonumber(args[1])
  local warmup = tonumber(args[2])
  for line in io.lines(args[3]) do
    if #line > 0 then table.insert(paths, line) end
  end
  if args[4] then
    for line in io.lines(args[4]) do
      if #line > 0 then table.insert(bodies, line) end
    end
  end
  local start = now() + 0.05
  next_slot = start
  measure_from = start + warmup
  prefix = "w" .. tostring(id) .. "-"
end

local function claim()
  local slot = next_slot
  next_slot = slot + interval
  return slot
end

function delay()
  local slot = claim()
  last = last + 1
  claimed[last] = slot
  local wait = (slot - now()) * 1000
  if wait <= 0 then return 0 end
  return math.floor(wait)
end

function request()
  local slot
  if first <= last then
    slot = claimed[first]
    claimed[first] = nil
    first = first + 1
  else
    slot = claim() -- a connection's first request (sent on connect, without delay())
  end
  local t = now()
  sent = sent + 1
  local rid = prefix .. tostring(sent)
  -- from the due time, or from the send if wrk's millisecond timer woke it early
  starts[rid] = (t > slot) and slot or t
  local path = paths[(sent - 1) % #paths + 1]
  local headers = {["X-Request-Id"] = rid}
  for k, v in pairs(wrk.headers) do headers[k] = v end -- wrk -H …
  if #bodies > 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", path, headers, (bodies[(sent - 1) % #bodies + 1]:gsub("{n}", rid)))
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, _)
  local t = now()
  local rid = headers["x-request-id"] or headers["X-Request-Id"]
  local start = rid and starts[rid]
  if not start then
    unmatched = unmatched + 1
    return
  end
  starts[rid] = nil
  if start >= measure_from then
    answered = answered + 1
    latencies[answered] = (t - start) * 1000
    statuses[status] = (statuses[status] or 0) + 1
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return -1 end
  local i = math.floor(p * #sorted) + 1
  if i > #sorted then i = #sorted end
  return sorted[i]
end

function done(summary, latency, _)
  local all, statuses_all, unmatched_all, scheduled = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get("latencies")) do table.insert(all, v) end
    for k, v in pairs(thread:get("statuses")) do statuses_all[k] = (statuses_all[k] or 0) + v end
    unmatched_all = unmatched_all + thread:get("unmatched")
  end
  table.sort(all)
  local parts = {}
  for k, v in pairs(statuses_all) do table.insert(parts, string.format('"%d": %d', k, v)) end
  local errors = summary.errors
  io.write(string.format(
    '{"answered": %d, "p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f, ' ..
    '"wrk_p50": %.3f, "wrk_p99": %.3f, "wrk_max": %.3f, "statuses": {%s}, ' ..
    '"unmatched": %d, "errors": %d, "completed": %d}\n',
    #all, percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99),
    all[#all] or -1, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ", "), unmatched_all,
    errors.connect + errors.read + errors.write + errors.timeout, summary.requests))
end
