-- GET /data/k<N> carrying the causal metadata in METADATA (env): a session that depends on one write.
-- Every request makes the node check the metadata; the answer's metadata is pruned to {} once stable.
local keys = tonumber(os.getenv("KEYS") or "10000")
local body = '{"causal-metadata":' .. (os.getenv("METADATA") or "{}") .. '}'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/data/k" .. (counter % keys), {["Content-Type"] = "application/json"}, body)
end
