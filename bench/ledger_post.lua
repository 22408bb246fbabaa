-- wrk script of the ledger cells (bench/run.sh): POST /v1/payments with a
-- small JSON body, each request with an Idempotency-Key never sent before.
-- usage: wrk -s bench/ledger_post.lua URL -- RUN keyed|unkeyed
--   RUN     a token unique to this wrk run (keys must not repeat across the
--           warm-up, the measured run and the rounds)
--   keyed   every request carries the key RUN-<thread>-<counter>
--   unkeyed the same requests without the header (the same Lua work per request)

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local run, keyed, counter = "run", true, 0
local path = "/v1/payments"
local body = '{"amount":1000,"currency":"eur","customer":"cus_bench"}'
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  run = args[1] or run
  keyed = (args[2] or "keyed") == "keyed"
end

function request()
  counter = counter + 1
  if keyed then
    headers["Idempotency-Key"] = run .. "-" .. tostring(tid) .. "-" .. counter
  end
  return wrk.format("POST", path, headers, body)
end
