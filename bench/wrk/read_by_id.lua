-- GET PREFIX..ID for an id drawn at random from IDS_FILE (one id a line), per request:
--   wrk ... -s bench/wrk/read_by_id.lua URL -- IDS_FILE PREFIX
-- Headers given with -H (a bearer token) go with every request.

local threads_started = 0

function setup(thread)
   threads_started = threads_started + 1
   thread:set("thread_number", threads_started)
end

local ids = {}
local prefix

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         ids[#ids + 1] = line
      end
   end
   if #ids == 0 then
      error("no ids in " .. args[1])
   end
   prefix = args[2]
   math.randomseed(os.time() * 100 + thread_number)
end

function request()
   return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
