-- resume: ARGV = prefix, node, token, new token. Step 19 on several
-- processes: the token names a member, wherever it was connected; the
-- member moves to this process, and the process it left is told ("taken")
-- so that it lets its old socket go without a leave.
-- Returns {"ok", id, room, name, ...the others} or {"bad-token"}.
local node, token, new_token = ARGV[2], ARGV[3], ARGV[4]
local id = redis.call('GET', P .. 'token:' .. token)
redis.call('DEL', P .. 'token:' .. token)
if not id or redis.call('EXISTS', P .. 'member:' .. id) == 0 then
  return { 'bad-token' }
end
local member = P .. 'member:' .. id
local room, old_node, name = unpack(redis.call('HMGET', member, 'room', 'node', 'name'))
redis.call('HSET', member, 'node', node, 'away', '0', 'token', new_token)
redis.call('SET', P .. 'token:' .. new_token, id)
redis.call('HSET', P .. 'room:' .. room, id, node)
redis.call('SMOVE', P .. 'node:' .. old_node, P .. 'node:' .. node, id)
if old_node ~= node then
  redis.call('PUBLISH', P .. 'inbox:' .. old_node, envelope('taken:' .. id, id, room, ''))
end
local reply = { 'ok', id, room, name }
for _, value in ipairs(others(room, id)) do
  table.insert(reply, value)
end
return reply
