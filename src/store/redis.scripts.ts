/**
 * Lua scripts that make each change of a service atomic: the write, the version bump and
 * the change event happen together, so that exactly one event results from each change
 * even when several replicas race (e.g. to expire the same lease).
 *
 * Every script takes the same six keys of one service, all in one hash slot:
 * members (id -> identity JSON), sessions (id -> session), states (id -> state),
 * loads (id -> {"t": ms, "l": load JSON}), leases (zset id -> deadline ms), version.
 * Times come from the Redis server's clock.
 */

const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

const BUMP_AND_PUBLISH = `
local function bump_and_publish(channel, kind, removed)
  local version = redis.call('INCR', KEYS[6])
  local event = '{"kind":"' .. kind .. '","version":' .. version
  if removed then event = event .. ',"removed":' .. cjson.encode(removed) end
  redis.call('SPUBLISH', channel, event .. '}')
  return version
end
`;

/** ARGV: id, session, identity JSON, state, load JSON or "null", ttl ms, max backends, channel */
export const REGISTER = `${NOW}${BUMP_AND_PUBLISH}
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[7]) then
  return {'full', 0}
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HSET', KEYS[3], id, ARGV[4])
redis.call('HSET', KEYS[4], id, '{"t":' .. now .. ',"l":' .. ARGV[5] .. '}')
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[6]), id)
return {'registered', bump_and_publish(ARGV[8], 'membership', nil)}
`;

/** ARGV: id, session, state, load JSON, ttl ms, channel */
export const REPORT = `${NOW}${BUMP_AND_PUBLISH}
local id = ARGV[1]
local owner = redis.call('HGET', KEYS[2], id)
if not owner then return 'lease-lost' end
if owner ~= ARGV[2] then return 'superseded' end
local previous = redis.call('HGET', KEYS[3], id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, '{"t":' .. now .. ',"l":' .. ARGV[4] .. '}')
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), id)
local kind = 'load'
if previous ~= ARGV[3] then kind = 'membership' end
bump_and_publish(ARGV[6], kind, nil)
return 'accepted'
`;

/** ARGV: id, session, channel */
export const DEREGISTER = `${BUMP_AND_PUBLISH}
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
for i = 1, 4 do redis.call('HDEL', KEYS[i], id) end
redis.call('ZREM', KEYS[5], id)
bump_and_publish(ARGV[3], 'membership', {id})
return 1
`;

/** ARGV: channel, most removals per call. Returns the removed ids. */
export const EXPIRE = `${NOW}${BUMP_AND_PUBLISH}
local ids = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return ids end
for _, id in ipairs(ids) do
  for i = 1, 4 do redis.call('HDEL', KEYS[i], id) end
  redis.call('ZREM', KEYS[5], id)
end
bump_and_publish(ARGV[1], 'membership', ids)
return ids
`;

/**
 * KEYS: the six above, then the Kubernetes view (a string key). ARGV: the view as JSON, or ''
 * to clear it; channel. Writing the view already there changes nothing, so every replica may
 * write what its informer sees.
 */
export const SET_CLUSTER = `${BUMP_AND_PUBLISH}
local current = redis.call('GET', KEYS[7]) or ''
if current == ARGV[1] then return 0 end
if ARGV[1] == '' then redis.call('DEL', KEYS[7]) else redis.call('SET', KEYS[7], ARGV[1]) end
bump_and_publish(ARGV[2], 'membership', nil)
return 1
`;

/** KEYS: the six above, the stats window hash, the Kubernetes view. Everything in one read. */
export const SNAPSHOT = `
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[4]),
  redis.call('GET', KEYS[6]) or '0',
  redis.call('HGETALL', KEYS[7]),
  redis.call('GET', KEYS[8]) or '',
}
`;
