-- wrk script for bench/ingest.py: every request carries answers with fresh uuid4 ids.
--
-- Arguments (after `--` on the wrk command line): a file of device keys (one per line;
-- requests take them in turn, as if from that many kiosks), items per request
-- (0 = single POST to /api/v1/responses, n = batch of n), random seed, spread in seconds
-- (0 = every answer stamped now; s = each batch is a kiosk's flushed queue spread over s
-- seconds, and the kiosk's next batch covers the s seconds before that, as
-- bench/common.py's QueuedStamps does). The seed comes from Python so a warm-up and a
-- measured run started in the same second never repeat ids.
-- done() prints one JSON line (prefixed "KAIKU_BENCH ") that bench/common.py parses.

local random = math.random
local format = string.format
local concat = table.concat
local RATINGS = { "very_good", "good", "neither", "poor", "very_poor", "dont_know" }
local threads = {}
local counter = 0

local batch, spread, stamp_second, stamp_text
local headers = {}
local turn = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

function init(args)
  for key in io.lines(args[1]) do
    if key ~= "" then
      table.insert(headers, {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. key,
      })
    end
  end
  batch = tonumber(args[2])
  spread = tonumber(args[4] or "0")
  math.randomseed(tonumber(args[3]) + 7919 * thread_no)
  for _ = 1, 10 do random() end
  stored, duplicate, rejected, bad = 0, 0, 0, 0
  wrk.method = "POST"
  if batch > 0 then wrk.path = "/api/v1/responses/batch" else wrk.path = "/api/v1/responses" end
end

local function uuid4()
  return format(
    "%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    random(0, 0xffff), random(0, 0xffff), random(0, 0xffff), random(0, 0xfff),
    random(0x8000, 0xbfff), random(0, 0xffff), random(0, 0xffff), random(0, 0xffff)
  )
end

local function now_utc()
  local second = os.time()
  if second ~= stamp_second then
    stamp_second = second
    stamp_text = os.date("!%Y-%m-%dT%H:%M:%SZ", second)
  end
  return stamp_text
end

local cursors = {}

local function answer(stamp)
  return format(
    '{"id":"%s","path":"toimeentulotuki","step":"ensitapaaminen","rating":"%s","answered_at":"%s"}',
    uuid4(), RATINGS[random(1, 6)], stamp
  )
end

local function queued_stamp(index_from_0)
  local step = spread / batch
  local moment = cursors[turn] - step * index_from_0 - step * random()
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(moment))
end

function request()
  turn = turn % #headers + 1
  if batch == 0 then
    return wrk.format(nil, nil, headers[turn], answer(now_utc()))
  end
  local items = {}
  if spread == 0 then
    for i = 1, batch do items[i] = answer(now_utc()) end
  else
    cursors[turn] = cursors[turn] or os.time()
    for i = 1, batch do items[i] = answer(queued_stamp(i - 1)) end
    cursors[turn] = cursors[turn] - spread
  end
  return wrk.format(nil, nil, headers[turn], '{"items":[' .. concat(items, ",") .. "]}")
end

function response(status, headers, body)
  if batch == 0 then
    if status == 201 then stored = stored + 1
    elseif status == 200 then duplicate = duplicate + 1
    else bad = bad + 1 end
    return
  end
  if status ~= 200 then bad = bad + 1; return end
  local s, d, r = body:match('"stored":(%d+),"duplicates":(%d+),"rejected":(%d+)')
  if s == nil then bad = bad + 1; return end
  stored = stored + tonumber(s)
  duplicate = duplicate + tonumber(d)
  rejected = rejected + tonumber(r)
end

function done(summary, latency, requests)
  local totals = { stored = 0, duplicate = 0, rejected = 0, bad = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  local e = summary.errors
  io.write(format(
    'KAIKU_BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"stored":%d,"duplicate":%d,"rejected":%d,"bad_status":%d,'
      .. '"socket_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, totals.stored, totals.duplicate, totals.rejected, totals.bad,
    e.connect + e.read + e.write, e.timeout
  ))
end
