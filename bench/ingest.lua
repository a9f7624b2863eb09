-- wrk script for bench/ingest.sh: POST /api/v1/events, one lead per request, each with its
-- own Idempotency-Key and customer_id (thread id + counter + run id), so every request is a
-- new event and none is answered from the idempotency table.
--
-- Script arguments (after `--`): API_KEY RUN_ID [CLICK_ID]
-- With CLICK_ID, every lead carries that click id, so it is attributed and posts a
-- commission (the full money path); without, leads are stored unattributed.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

function init(args)
   api_key = args[1]
   run_id = args[2] or "run"
   click_id = args[3]
   counter = 0
   created = 0    -- 201: stored now
   accepted = 0   -- 202: logged durably for a worker (tier 2)
   replayed = 0   -- 200: answered from an earlier request with the same key
   client_err = 0 -- 4xx
   server_err = 0 -- 5xx
   other = 0
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. api_key,
   }
end

function request()
   counter = counter + 1
   local key = string.format("bench-%s-%d-%d", run_id, thread_id, counter)
   headers["Idempotency-Key"] = key
   local body
   if click_id then
      body = string.format('{"type":"lead","customer_id":"cus-%s","click_id":"%s"}', key, click_id)
   else
      body = string.format('{"type":"lead","customer_id":"cus-%s"}', key)
   end
   return wrk.format("POST", "/api/v1/events", headers, body)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   elseif status == 202 then
      accepted = accepted + 1
   elseif status == 200 then
      replayed = replayed + 1
   elseif status >= 400 and status < 500 then
      client_err = client_err + 1
      if client_err == 1 then io.stderr:write("first 4xx: " .. status .. " " .. body .. "\n") end
   elseif status >= 500 then
      server_err = server_err + 1
      if server_err == 1 then io.stderr:write("first 5xx: " .. status .. " " .. body .. "\n") end
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { created = 0, accepted = 0, replayed = 0, client_err = 0, server_err = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
   end
   -- Lines read by bench/ingest.sh.
   io.write(string.format("status_201 %d\n", totals.created))
   io.write(string.format("status_202 %d\n", totals.accepted))
   io.write(string.format("status_200 %d\n", totals.replayed))
   io.write(string.format("status_4xx %d\n", totals.client_err))
   io.write(string.format("status_5xx %d\n", totals.server_err))
   io.write(string.format("status_other %d\n", totals.other))
end
