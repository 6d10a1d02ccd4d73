-- wrk script: POST the file named by $BODY_FILE with $CONTENT_TYPE
-- (default image/jpeg) to the URL's path, e.g.
--   BODY_FILE=tiny.jpg wrk -t1 -c64 -d5s -s wrk_post.lua http://127.0.0.1:8080/v1/detect
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "image/jpeg"
