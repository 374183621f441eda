-- POST the contents of BODY_FILE (a JSON document) to wrk's URL on every request:
--   wrk ... -s bench/wrk/post_json.lua URL -- BODY_FILE
-- Headers given with -H (a bearer token) go with every request.

function init(args)
   local file = assert(io.open(args[1], "rb"))
   wrk.body = file:read("*a")
   file:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end
