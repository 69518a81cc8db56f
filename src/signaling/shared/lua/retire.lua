-- retire: ARGV = prefix, node. A process stopping cleanly takes its last
-- members out (announced) and itself off the list, so nobody waits for its
-- liveness key to expire.
local node = ARGV[2]
for _, id in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do
  remove_member(id)
end
redis.call('DEL', P .. 'node:' .. node, P .. 'alive:' .. node)
redis.call('SREM', P .. 'nodes', node)
return 1
