-- Shared by every script below (src/signaling/shared/scripts.rs puts this
-- in front of each). Every script gets the key prefix as ARGV[1], so that
-- two steps sharing one Redis never see each other's rooms.
--
-- The keys, for prefix P (e.g. "videochat:app17:"):
--   P.."nodes"          set     the server processes that are alive
--   P.."alive:"..node   string  refreshed by that process; expires when it dies
--   P.."node:"..node    set     the members connected to that process
--   P.."member:"..id    hash    room, node, name, key (the name compared), token, away
--   P.."room:"..room    hash    member id -> the process it is connected to
--   P.."names:"..room   hash    name key -> member id (names unique in a room)
--   P.."token:"..token  string  the member a resume token lets back in (step 19)
-- Channel P.."inbox:"..node: what a process must deliver to its own sockets.

local P = ARGV[1]

-- An inbox message: what it is, for whom, in which room, and the text to
-- write to their sockets. Room names have no control characters (the name
-- rules) and ids are hex, so a newline separates the parts safely.
local function envelope(kind, to, room, text)
  return kind .. '\n' .. to .. '\n' .. room .. '\n' .. text
end

-- Sends `text` to every member of `room` but `except`: one message per
-- process, naming its members. `kind` is "join:<id>" or "leave:<id>", so
-- that each process also keeps its own view of the room.
local function announce(room, kind, text, except)
  local members = redis.call('HGETALL', P .. 'room:' .. room)
  local by_node = {}
  for i = 1, #members, 2 do
    local id, node = members[i], members[i + 1]
    if id ~= except then
      by_node[node] = by_node[node] and (by_node[node] .. ',' .. id) or id
    end
  end
  for node, ids in pairs(by_node) do
    redis.call('PUBLISH', P .. 'inbox:' .. node, envelope(kind, ids, room, text))
  end
end

-- Takes member `id` out of everything and tells its room it left. The text
-- is the same `leave` the in-memory hub sends.
local function remove_member(id)
  local member = P .. 'member:' .. id
  local room, node, key, token = unpack(redis.call('HMGET', member, 'room', 'node', 'key', 'token'))
  if not room then
    return false
  end
  redis.call('HDEL', P .. 'room:' .. room, id)
  if redis.call('HGET', P .. 'names:' .. room, key) == id then
    redis.call('HDEL', P .. 'names:' .. room, key)
  end
  redis.call('SREM', P .. 'node:' .. node, id)
  if token then
    redis.call('DEL', P .. 'token:' .. token)
  end
  redis.call('DEL', member)
  announce(room, 'leave:' .. id, '{"type":"leave","from":"' .. id .. '"}', id)
  return true
end

-- ANCHOR: add_member
-- Lets `id` into `room` under `name` if there is space and the name is free,
-- and tells the members already there. Returns "ok", "full" or "name-taken".
local function add_member(id, node, room, name, key, token, size, join_text)
  local room_key = P .. 'room:' .. room
  if redis.call('HLEN', room_key) >= size then
    return 'full'
  end
  if redis.call('HEXISTS', P .. 'names:' .. room, key) == 1 then
    return 'name-taken'
  end
  announce(room, 'join:' .. id, join_text, id)
  redis.call('HSET', room_key, id, node)
  redis.call('HSET', P .. 'names:' .. room, key, id)
  redis.call('HSET', P .. 'member:' .. id, 'room', room, 'node', node, 'name', name, 'key', key, 'away', '0')
  if token ~= '' then
    redis.call('HSET', P .. 'member:' .. id, 'token', token)
    redis.call('SET', P .. 'token:' .. token, id)
  end
  redis.call('SADD', P .. 'node:' .. node, id)
  return 'ok'
end
-- ANCHOR_END: add_member

-- Everyone in `room` but `except`, as id, name, id, name...
local function others(room, except)
  local list = {}
  for _, id in ipairs(redis.call('HKEYS', P .. 'room:' .. room)) do
    if id ~= except then
      table.insert(list, id)
      table.insert(list, redis.call('HGET', P .. 'member:' .. id, 'name') or '')
    end
  end
  return list
end
