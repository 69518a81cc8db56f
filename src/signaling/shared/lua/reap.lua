-- reap: ARGV = prefix. Every process that stopped saying it is alive is
-- dead: its members leave, announced to their rooms. Any process may run
-- this; being one script, only one run finds each dead process.
-- Returns the dead processes' ids.
local dead = {}
for _, node in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'alive:' .. node) == 0 then
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do
      remove_member(id)
    end
    redis.call('DEL', P .. 'node:' .. node)
    redis.call('SREM', P .. 'nodes', node)
    table.insert(dead, node)
  end
end
return dead
