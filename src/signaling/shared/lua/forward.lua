-- forward: ARGV = prefix, node, from, to, room, text (already stamped with
-- the server's `from`). Checked here, where the rooms are, not in a copy
-- that may be stale: the sender is still in `room` on this process, and `to`
-- is another member of it. Returns "ok" or the error code for the sender.
local node, from, to, room, text = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local room_key = P .. 'room:' .. room
if redis.call('HGET', room_key, from) ~= node then
  return 'not-joined'
end
local target = redis.call('HGET', room_key, to)
if to == from or not target then
  return 'unknown-peer'
end
if redis.call('HGET', P .. 'member:' .. to, 'away') == '1' then
  return 'peer-away'
end
redis.call('PUBLISH', P .. 'inbox:' .. target, envelope('message', to, room, text))
return 'ok'
