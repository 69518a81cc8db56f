-- leave: ARGV = prefix, node, id. Only the process the member is connected
-- to may take it out: after a resume on another process (step 19) the old
-- one's late "leave" must change nothing. Returns 1 if it left.
local node, id = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'member:' .. id, 'node') ~= node then
  return 0
end
return remove_member(id) and 1 or 0
