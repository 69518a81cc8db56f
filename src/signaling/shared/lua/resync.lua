-- resync: ARGV = prefix, node, room size, then for each member this process
-- has: id, room, name, name key, token, join text. After this process lost
-- Redis for a while (its subscription, or Redis itself restarted empty),
-- Redis is made to hold exactly this process's members again: members it
-- no longer has leave, members Redis forgot are let back in (announced, as
-- a join), if there is still space and their name is free.
-- Returns the ids that could not get their place back.
local node, size = ARGV[2], tonumber(ARGV[3])
local here = {}
for i = 4, #ARGV, 6 do
  here[ARGV[i]] = true
end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do
  if not here[id] then
    remove_member(id)
  end
end
local lost = {}
for i = 4, #ARGV, 6 do
  local id, room, name, key, token, join_text = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local where = redis.call('HGET', P .. 'member:' .. id, 'node')
  if where ~= node then
    -- Forgotten (or resumed elsewhere, which `where` names: then not ours).
    if where or add_member(id, node, room, name, key, token, size, join_text) ~= 'ok' then
      table.insert(lost, id)
    end
  end
end
return lost
