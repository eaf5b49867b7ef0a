-- bgmock's one Redis script: every storage step that writes runs through it, atomically.
--
-- A call is a list of steps, run in order, after an optional check that the caller's view of the
-- rules and the clock is still current (the optimistic unit of work, storage/redis_unit.py):
--   KEYS[1] the version token (changed with every change of the rules or the clock); then each
--   step's own keys, in order.
--   ARGV[1] the version token the caller saw ('' = no check, '-' = there was none);
--   ARGV[2] the caller's deadline on Redis's clock (seconds; '' = none): a call that runs after
--   it (a Redis that was slow or stopped) writes nothing, so a caller that gave up and answered
--   "system error" never leaves a task or journal entry behind;
--   then per step: its name, its key count, its argument count, its arguments.
-- Returns {1, result of each step...}; {0} when the view is stale, {2} when past the deadline:
-- then nothing is written.

local function forget(order, evicted, cutoff, max, prefix)
  -- Forget tasks created (on the fake's clock) before cutoff, then the oldest past max; count them.
  local gone = redis.call('ZRANGEBYSCORE', order, '-inf', '(' .. cutoff)
  local over = redis.call('ZCARD', order) - #gone - tonumber(max)
  if over > 0 then
    for _, id in ipairs(redis.call('ZRANGE', order, #gone, #gone + over - 1)) do table.insert(gone, id) end
  end
  for _, id in ipairs(gone) do
    redis.call('UNLINK', prefix .. id)
    redis.call('ZREM', order, id)
  end
  if #gone > 0 then redis.call('INCRBY', evicted, #gone) end
  return #gone
end

local steps = {}

-- keys: order zset, evicted counter. args: forget's cutoff, max, task key prefix.
function steps.expire(k, a) return forget(k[1], k[2], a[1], a[2], a[3]) end

-- keys: task hash, order zset (score: created), evicted. args: id, json, created, ttl (real s), forget's 3.
function steps.task(k, a)
  redis.call('HSET', k[1], 'json', a[2], 'polls', 0)
  if tonumber(a[4]) > 0 then redis.call('EXPIRE', k[1], a[4]) end
  redis.call('ZADD', k[2], a[3], a[1])
  return forget(k[2], k[3], a[5], a[6], a[7])
end

-- keys: task hash. args: '1' to count a poll. Never creates a task that is not there.
function steps.get(k, a)
  if redis.call('EXISTS', k[1]) == 0 then return false end
  if a[1] == '1' then redis.call('HINCRBY', k[1], 'polls', 1) end
  return redis.call('HMGET', k[1], 'json', 'polls')
end

-- keys: product, order zset, byte counter. args: name, data, cap, ttl, product key prefix.
function steps.product(k, a)
  local old = redis.call('STRLEN', k[1])
  redis.call('SET', k[1], a[2])
  if tonumber(a[4]) > 0 then redis.call('EXPIRE', k[1], a[4]) end
  redis.call('ZADD', k[2], redis.call('INCR', k[3] .. ':seq'), a[1])
  local total = redis.call('INCRBY', k[3], string.len(a[2]) - old)
  while total > tonumber(a[3]) do
    local oldest = redis.call('ZRANGE', k[2], 0, 0)[1]
    if not oldest then break end
    redis.call('ZREM', k[2], oldest)
    total = redis.call('INCRBY', k[3], -redis.call('STRLEN', a[5] .. oldest))
    redis.call('UNLINK', a[5] .. oldest)
  end
  return total
end

-- keys: journal list, sequence. args: entry JSON without its id, size. The id: the shared sequence.
-- Each entry is two list items, its id and its JSON (no string building here: it cost as much as
-- the rest of the step); the reader joins them.
function steps.journal(k, a)
  local id = redis.call('INCR', k[2])
  redis.call('LPUSH', k[1], a[1], id)
  redis.call('LTRIM', k[1], 0, 2 * tonumber(a[2]) - 1)
  return id
end

if ARGV[2] ~= '' then
  local now = redis.call('TIME')
  if tonumber(now[1]) + tonumber(now[2]) / 1000000 > tonumber(ARGV[2]) then return {2} end
end
if ARGV[1] ~= '' and (redis.call('GET', KEYS[1]) or '-') ~= ARGV[1] then return {0} end
local results, key, at = {1}, 2, 3
while at <= #ARGV do
  local step, nkeys, nargs = steps[ARGV[at]], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local k, a = {}, {}
  for i = 1, nkeys do k[i] = KEYS[key + i - 1] end
  for i = 1, nargs do a[i] = ARGV[at + 2 + i] end
  table.insert(results, step(k, a))
  key, at = key + nkeys, at + 3 + nargs
end
return results
