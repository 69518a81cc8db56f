-- join: ARGV = prefix, node, id, room, name, name key, token, room size, join text.
-- One script, so the room's size and its names are checked and changed in one
-- step: ten joins racing for the last place from ten processes admit one.
-- Returns {"ok", id, name, ...the others} or {"full"}, {"name-taken"}, {"already"}.
local node, id, room, name, key, token = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local size, join_text = tonumber(ARGV[8]), ARGV[9]
if redis.call('EXISTS', P .. 'member:' .. id) == 1 then
  return { 'already' }
end
local result = add_member(id, node, room, name, key, token, size, join_text)
if result ~= 'ok' then
  return { result }
end
local reply = { 'ok' }
for _, value in ipairs(others(room, id)) do
  table.insert(reply, value)
end
return reply
