import { createHash } from 'node:crypto';
import type { Algorithm } from './rate-limit.config';

// One Lua script per decision, the same arithmetic as algorithms.ts in microseconds. The clock is
// Redis's own `TIME` (scripts replicate by effects since Redis 5, so reading it before writing is
// allowed), never the caller's: gateway instances with skewed clocks still share one timeline.
// KEYS[1] is the only key; the caller wraps its name in a `{…}` hash tag.
// Reply: { now_us, allowed, remaining_1, reset_us_1, retry_us_1, remaining_2, … }.
// Timestamps are integers below 2^53, so doubles hold them exactly; `fmt` writes them without the
// exponent notation Lua's tostring would use.

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function fmt(n) return string.format('%d', n) end
`;

/** Per window fields `<W>:s` (window start), `<W>:c` (count), `<W>:p` (previous window's count). */
const SLIDING_WINDOW = `${PRELUDE}
local key = KEYS[1]
local n = tonumber(ARGV[1])
local fields = {}
for i = 1, n do
  local w = ARGV[2 * i + 1]
  fields[3 * i - 2] = w .. ':s'
  fields[3 * i - 1] = w .. ':c'
  fields[3 * i] = w .. ':p'
end
local stored = redis.call('HMGET', key, unpack(fields))
local L, W, S, C, P, E, EST = {}, {}, {}, {}, {}, {}, {}
local allowed, longest = 1, 0
for i = 1, n do
  local l, w = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = tonumber(stored[3 * i - 2]) or 0
  local c = tonumber(stored[3 * i - 1]) or 0
  local p = tonumber(stored[3 * i]) or 0
  local start = math.floor(now / w) * w
  if start > s then
    if s == start - w then p = c else p = 0 end
    c, s = 0, start
  end
  local e = math.min(math.max(now - s, 0), w)
  local est = p * (w - e) / w + c
  if est + 1 > l then allowed = 0 end
  L[i], W[i], S[i], C[i], P[i], E[i], EST[i] = l, w, s, c, p, e, est
  if w > longest then longest = w end
end
local reply, updates = { now, allowed }, {}
for i = 1, n do
  local l, w, c, p, e = L[i], W[i], C[i], P[i], E[i]
  local retry = 0
  if allowed == 0 and EST[i] + 1 > l then
    local budget, due = l - 1 - c, w
    if budget >= 0 and p > 0 then due = w * (1 - budget / p) end
    if due < w then
      retry = math.max(due - e, 1)
    else
      local share = 0
      if c > l - 1 then share = 1 - (l - 1) / c end
      retry = w - e + w * share
    end
  end
  local est = EST[i] + allowed
  reply[#reply + 1] = math.max(0, math.floor(l - est))
  reply[#reply + 1] = w - e
  reply[#reply + 1] = math.ceil(retry)
  if allowed == 1 then
    local tag = ARGV[2 * i + 1]
    updates[#updates + 1] = tag .. ':s'; updates[#updates + 1] = fmt(S[i])
    updates[#updates + 1] = tag .. ':c'; updates[#updates + 1] = fmt(c + 1)
    updates[#updates + 1] = tag .. ':p'; updates[#updates + 1] = fmt(p)
  end
end
if allowed == 1 then
  redis.call('HSET', key, unpack(updates))
  redis.call('PEXPIRE', key, math.ceil(2 * longest / 1000))
end
return reply
`;

/** Per window fields `<W>:s` and `<W>:c`. */
const FIXED_WINDOW = `${PRELUDE}
local key = KEYS[1]
local n = tonumber(ARGV[1])
local fields = {}
for i = 1, n do
  local w = ARGV[2 * i + 1]
  fields[2 * i - 1] = w .. ':s'
  fields[2 * i] = w .. ':c'
end
local stored = redis.call('HMGET', key, unpack(fields))
local S, C = {}, {}
local allowed, longest = 1, 0
for i = 1, n do
  local l, w = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = tonumber(stored[2 * i - 1]) or 0
  local c = tonumber(stored[2 * i]) or 0
  local start = math.floor(now / w) * w
  if start > s then c, s = 0, start end
  if c + 1 > l then allowed = 0 end
  S[i], C[i] = s, c
  if w > longest then longest = w end
end
local reply, updates = { now, allowed }, {}
for i = 1, n do
  local l, w = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local c = C[i] + allowed
  local reset = w - math.min(math.max(now - S[i], 0), w)
  local retry = 0
  if allowed == 0 and C[i] + 1 > l then retry = reset end
  reply[#reply + 1] = math.max(0, l - c)
  reply[#reply + 1] = reset
  reply[#reply + 1] = retry
  updates[#updates + 1] = ARGV[2 * i + 1] .. ':s'; updates[#updates + 1] = fmt(S[i])
  updates[#updates + 1] = ARGV[2 * i + 1] .. ':c'; updates[#updates + 1] = fmt(c)
end
if allowed == 1 then
  redis.call('HSET', key, unpack(updates))
  redis.call('PEXPIRE', key, math.ceil(longest / 1000))
end
return reply
`;

/** One sorted set of admitted requests (score: Redis time in µs, member: unique per request). */
const SLIDING_LOG = `${PRELUDE}
local key = KEYS[1]
local member = ARGV[1]
local n = tonumber(ARGV[2])
local longest = 0
for i = 1, n do
  local w = tonumber(ARGV[2 * i + 2])
  if w > longest then longest = w end
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - longest))
local counts, lows = {}, {}
local allowed = 1
for i = 1, n do
  local l, w = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  lows[i] = '(' .. fmt(now - w)
  counts[i] = redis.call('ZCOUNT', key, lows[i], '+inf')
  if counts[i] + 1 > l then allowed = 0 end
end
if allowed == 1 then
  redis.call('ZADD', key, fmt(now), member)
  redis.call('PEXPIRE', key, math.ceil(longest / 1000))
end
local reply = { now, allowed }
for i = 1, n do
  local l, w = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local oldest = redis.call('ZRANGEBYSCORE', key, lows[i], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local reset = w
  if oldest[2] then reset = tonumber(oldest[2]) + w - now end
  local retry = 0
  if allowed == 0 and counts[i] + 1 > l then
    local due = redis.call('ZRANGEBYSCORE', key, lows[i], '+inf', 'WITHSCORES', 'LIMIT', counts[i] - l, 1)
    retry = tonumber(due[2]) + w - now
  end
  reply[#reply + 1] = math.max(0, l - counts[i] - allowed)
  reply[#reply + 1] = reset
  reply[#reply + 1] = retry
end
return reply
`;

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const RATE_LIMIT_SCRIPTS: Readonly<Record<Algorithm, LuaScript>> = {
  'sliding-window': script(SLIDING_WINDOW),
  'fixed-window': script(FIXED_WINDOW),
  'sliding-log': script(SLIDING_LOG),
};
