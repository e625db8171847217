/**
 * Lua scripts that make each change of a service atomic: the write, the version bump and
 * the change event happen together, so that exactly one event results from each change
 * even when several replicas race (e.g. to expire the same lease).
 *
 * Every script takes the same nine keys of one service, all in one hash slot:
 * 1 members (id -> identity JSON), 2 sessions (id -> session), 3 states (id -> state),
 * 4 loads (id -> {"t": ms, "l": load, "s": smoothed, "r": recent reports}), 5 leases (zset id -> deadline ms),
 * 6 version, 7 ejections (id -> "untilMs:count"), 8 since (id -> first registration ms),
 * 9 pruning (the tombstone of a prune in progress, see PRUNE).
 * Times come from the Redis server's clock.
 */

const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
`;

/**
 * Needs NOW. A service's first version is the clock in microseconds, and a pruned service's
 * version outlives it for a while (see PRUNE), so one that comes back never repeats a version.
 * Versions have 16 digits: Lua's tostring keeps 14, so they are formatted with %d.
 */
const BUMP_AND_PUBLISH = `
local function bump_and_publish(channel, kind, removed)
  if redis.call('EXISTS', KEYS[6]) == 0 then redis.call('SET', KEYS[6], string.format('%d', now_us)) else redis.call('PERSIST', KEYS[6]) end
  local version = redis.call('INCR', KEYS[6])
  local event = '{"kind":"' .. kind .. '","version":' .. string.format('%d', version) .. ',"atMs":' .. string.format('%d', now)
  if removed then event = event .. ',"removed":' .. cjson.encode(removed) end
  redis.call('SPUBLISH', channel, event .. '}')
  return version
end
`;

/** Drops every trace of a backend but its lease (the caller handles that). */
const FORGET = `
local function forget(id)
  for _, i in ipairs({1, 2, 3, 4, 7, 8}) do redis.call('HDEL', KEYS[i], id) end
  redis.call('ZREM', KEYS[5], id)
end
`;

export const KEY_COUNT = 9;

/**
 * ARGV: id, session, identity JSON, state, sample JSON members, ttl ms, max backends, channel,
 * principal. Cancels a prune in progress (the caller then adds the service to the known set).
 */
export const REGISTER = `${NOW}${BUMP_AND_PUBLISH}
local id = ARGV[1]
local listed = redis.call('HGET', KEYS[1], id)
if listed then
  local owner = cjson.decode(listed).principal or ''
  if owner ~= ARGV[9] then return {'owned', owner} end
elseif redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[7]) then
  return {'full', 0}
end
redis.call('DEL', KEYS[9])
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HSET', KEYS[3], id, ARGV[4])
redis.call('HSET', KEYS[4], id, '{"t":' .. now .. ',' .. ARGV[5] .. '}')
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[6]), id)
redis.call('HSETNX', KEYS[8], id, now)
return {'registered', bump_and_publish(ARGV[8], 'membership', nil)}
`;

/** ARGV: id, session, state, sample JSON members, ttl ms, channel, urgent ("1" or "0") */
export const REPORT = `${NOW}${BUMP_AND_PUBLISH}
local id = ARGV[1]
local owner = redis.call('HGET', KEYS[2], id)
if not owner then return 'lease-lost' end
if owner ~= ARGV[2] then return 'superseded' end
local previous = redis.call('HGET', KEYS[3], id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, '{"t":' .. now .. ',' .. ARGV[4] .. '}')
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), id)
local kind = 'load'
if previous ~= ARGV[3] or ARGV[7] == '1' then kind = 'membership' end
bump_and_publish(ARGV[6], kind, nil)
return 'accepted'
`;

/** ARGV: id, session, channel */
export const DEREGISTER = `${NOW}${BUMP_AND_PUBLISH}${FORGET}
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
forget(id)
bump_and_publish(ARGV[3], 'membership', {id})
return 1
`;

/** ARGV: channel, most removals per call. Returns the removed ids. */
export const EXPIRE = `${NOW}${BUMP_AND_PUBLISH}${FORGET}
local ids = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return ids end
for _, id in ipairs(ids) do forget(id) end
bump_and_publish(ARGV[1], 'membership', ids)
return ids
`;

/** ARGV: id, base ms, max ms, reset-after ms, most ejected at once, channel. Returns 1 if it ejected. */
export const EJECT = `${NOW}${BUMP_AND_PUBLISH}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 0 then return 0 end
local function parse(value)
  local untilMs, count = string.match(value, '^(%d+):(%d+)$')
  return tonumber(untilMs), tonumber(count)
end
local previous = 0
local current = redis.call('HGET', KEYS[7], id)
if current then
  local untilMs, count = parse(current)
  if untilMs > now then return 0 end
  if now - untilMs < tonumber(ARGV[4]) then previous = count end
end
local out = 0
for _, value in ipairs(redis.call('HVALS', KEYS[7])) do
  if parse(value) > now then out = out + 1 end
end
if out >= tonumber(ARGV[5]) then return 0 end
local count = previous + 1
local duration = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (count - 1))
redis.call('HSET', KEYS[7], id, string.format('%d:%d', math.floor(now + duration), count))
bump_and_publish(ARGV[6], 'membership', nil)
return 1
`;

/**
 * KEYS: the nine above, then the Kubernetes view (a string key). ARGV: the view as JSON, or
 * '' to clear it; channel. Writing the view already there changes nothing, so every replica
 * may write what its informer sees. A view cancels a prune in progress.
 */
export const SET_CLUSTER = `${NOW}${BUMP_AND_PUBLISH}
if ARGV[1] ~= '' then redis.call('DEL', KEYS[9]) end
local current = redis.call('GET', KEYS[10]) or ''
if current == ARGV[1] then return 0 end
if ARGV[1] == '' then redis.call('DEL', KEYS[10]) else redis.call('SET', KEYS[10], ARGV[1]) end
bump_and_publish(ARGV[2], 'membership', nil)
return 1
`;

/** KEYS: the nine above, the stats window hash, the Kubernetes view. Everything in one read. */
export const SNAPSHOT = `${NOW}
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[4]),
  redis.call('GET', KEYS[6]) or '0',
  redis.call('HGETALL', KEYS[10]),
  redis.call('GET', KEYS[11]) or '',
  redis.call('HGETALL', KEYS[7]),
  redis.call('HGETALL', KEYS[8]),
  now,
}
`;

/**
 * Pruning a service runs in three steps, because the set of known services is a global key
 * (another slot on Redis Cluster) and cannot be written with the service's own keys:
 * 1. PRUNE (the service's slot): if it has no backend and no Kubernetes view, let its version
 *    expire after ARGV[3] ms (a comeback before then continues from it, one after starts from
 *    the clock, which has passed it by then) and leave a tombstone holding this prune's nonce;
 * 2. SREM the service from the known set;
 * 3. CONFIRM_PRUNE: if the tombstone still holds the nonce, nothing registered meanwhile: done.
 *    Otherwise a registration (or a view) came in after step 1 and deleted the tombstone; its
 *    SADD may have landed before step 2 removed the service again, so add it back.
 * Registrations SADD only after their script, so every interleaving leaves a listed service in
 * the set. A stalled pruner whose tombstone expires also adds the service back: the safe side.
 *
 * KEYS: the nine above, then the Kubernetes view. ARGV: nonce, tombstone TTL ms, version TTL ms.
 */
export const PRUNE = `
if redis.call('HLEN', KEYS[2]) > 0 or redis.call('EXISTS', KEYS[10]) == 1 then return 0 end
redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[3]))
redis.call('SET', KEYS[9], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
`;

/** KEYS: the tombstone. ARGV: nonce. 1 when the prune stands. */
export const CONFIRM_PRUNE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;
