-- PUT /data/k<N> with a 100-byte value and the causal metadata in METADATA (env): the node checks it, and signs
-- the answer's metadata (the new write is not yet on the other replica, so it is not pruned).
local keys = tonumber(os.getenv("KEYS") or "10000")
local body = '{"value":"' .. string.rep("v", 100) .. '","causal-metadata":' .. (os.getenv("METADATA") or "{}") .. '}'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/data/k" .. (counter % keys), {["Content-Type"] = "application/json"}, body)
end
