-- alive: ARGV = prefix, node, milliseconds. A process says it is alive, for
-- that long. Returns 1 if the others had forgotten it (they found it dead, or
-- Redis restarted empty): it must then write its members back (a resync).
local node, ttl = ARGV[2], tonumber(ARGV[3])
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ttl)
return redis.call('SADD', P .. 'nodes', node)
