-- POST a new department to wrk's URL, its code unique per request (RUN-thread-counter):
--   wrk ... -s bench/wrk/create_department.lua URL -- RUN
-- RUN must differ between runs against the same database; headers given with -H go too.

local threads_started = 0

function setup(thread)
   threads_started = threads_started + 1
   thread:set("thread_number", threads_started)
end

local run
local counter = 0

function init(args)
   run = args[1]
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local body = string.format(
      '{"jurisdiction_code":"231100","code":"%s-%d-%d","name_zh":"基准部门%d",'
         .. '"name_en":"Bench department","category":"economic"}',
      run, thread_number, counter, counter)
   return wrk.format(nil, nil, nil, body)
end
