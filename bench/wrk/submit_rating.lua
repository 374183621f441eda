-- POST one citizen response to wrk's URL (POST /v1/ratings), new in every request:
--   wrk ... -s bench/wrk/submit_rating.lua URL -- IDS_FILE CYCLE_ID QUESTIONNAIRE_ID
-- IDS_FILE holds the cycle's department ids, one a line; each response rates one drawn at
-- random. The response_id (a UUID v4) and the respondent's device token are unique per
-- request: each thread of each run draws a 74-bit prefix from the kernel's random UUIDs
-- and counts up from there, so runs against the same database never repeat a response.
-- Answers follow bench/evaluation.py's questionnaire: Q1-Q3 (service), Q4-Q5 (integrity),
-- 1..5 or null ("don't know"). Headers given with -H (a bearer token) go with every request.

local threads_started = 0

function setup(thread)
   threads_started = threads_started + 1
   thread:set("thread_number", threads_started)
end

local departments = {}
local cycle_id, questionnaire_id
local prefix
local counter = 0

local function kernel_uuid()
   local file = assert(io.open("/proc/sys/kernel/random/uuid", "r"))
   local value = file:read("*l")
   file:close()
   return value
end

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         departments[#departments + 1] = line
      end
   end
   if #departments == 0 then
      error("no department ids in " .. args[1])
   end
   cycle_id, questionnaire_id = args[2], args[3]
   -- xxxxxxxx-xxxx-4xxx-yxxx- of a random v4 UUID; the last 12 hex digits count requests.
   local seed = kernel_uuid()
   prefix = string.sub(seed, 1, 24)
   math.randomseed(tonumber(string.sub(seed, 1, 8), 16) + thread_number)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

local function answer()
   if math.random(20) == 1 then
      return "null"
   end
   return tostring(math.random(2, 5))
end

function request()
   counter = counter + 1
   local response_id = string.format("%s%012x", prefix, counter)
   local body = string.format(
      '{"response_id":"%s","cycle_id":"%s","department_id":"%s","questionnaire_id":"%s",'
         .. '"respondent":{"kind":"device","token":"bench-device-%s"},'
         .. '"answers":{"Q1":%s,"Q2":%s,"Q3":%s,"Q4":%s,"Q5":%s},"duration_seconds":%d}',
      response_id, cycle_id, departments[math.random(#departments)], questionnaire_id,
      response_id, answer(), answer(), answer(), answer(), answer(), math.random(45, 240))
   return wrk.format(nil, nil, nil, body)
end
