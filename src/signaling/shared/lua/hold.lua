-- hold: ARGV = prefix, node, id. Step 19: the member's socket dropped and
-- its process holds its place; messages for it are refused (peer-away) on
-- every process until it comes back. Returns 1 if it is held.
local node, id = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'member:' .. id, 'node') ~= node then
  return 0
end
redis.call('HSET', P .. 'member:' .. id, 'away', '1')
return 1
