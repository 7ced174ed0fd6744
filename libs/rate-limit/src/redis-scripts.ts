import { createHash } from 'node:crypto';
import type { Algorithm } from './rate-limit.config';

// The decisions in Lua, the same arithmetic as algorithms.ts in microseconds: each algorithm is a
// `decide(key, A)` function, run once per call (RATE_LIMIT_SCRIPTS: KEYS[1], ARGV) or once per key
// (RATE_LIMIT_BATCH_SCRIPTS). The clock is Redis's own `TIME` (scripts replicate by effects since
// Redis 5, so reading it before writing is allowed), never the caller's: gateway instances with skewed
// clocks still share one timeline. A decision touches only its key; the caller wraps its name in a `{…}` hash tag.
// Reply per decision: { now_us, allowed, remaining_1, reset_us_1, retry_us_1, remaining_2, … }.
// Timestamps are integers below 2^53, so doubles hold them exactly; `fmt` writes them without the
// exponent notation Lua's tostring would use.

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function fmt(n) return string.format('%d', n) end
`;

/**
 * Per window fields `<W>:s` (window start), `<W>:c` (count), `<W>:p` (previous window's count). Only
 * changed fields are written, and the expiry moves only when a window rolls over: the key is needed
 * until the latest `start + 2W` (after that both counts are stale), so PEXPIREAT there.
 */
const SLIDING_WINDOW = `local function decide(key, A)
  local n = tonumber(A[1])
  local fields = {}
  for i = 1, n do
    local w = A[2 * i + 1]
    fields[3 * i - 2] = w .. ':s'
    fields[3 * i - 1] = w .. ':c'
    fields[3 * i] = w .. ':p'
  end
  local stored = redis.call('HMGET', key, unpack(fields))
  local L, W, S, C, P, E, EST, ROLLED = {}, {}, {}, {}, {}, {}, {}, {}
  local allowed, expiry, rolled = 1, 0, false
  for i = 1, n do
    local l, w = tonumber(A[2 * i]), tonumber(A[2 * i + 1])
    local s = tonumber(stored[3 * i - 2]) or 0
    local c = tonumber(stored[3 * i - 1]) or 0
    local p = tonumber(stored[3 * i]) or 0
    local start = math.floor(now / w) * w
    ROLLED[i] = start > s
    if ROLLED[i] then
      if s == start - w then p = c else p = 0 end
      c, s, rolled = 0, start, true
    end
    local e = math.min(math.max(now - s, 0), w)
    local est = p * (w - e) / w + c
    if est + 1 > l then allowed = 0 end
    L[i], W[i], S[i], C[i], P[i], E[i], EST[i] = l, w, s, c, p, e, est
    if s + 2 * w > expiry then expiry = s + 2 * w end
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
      local tag = A[2 * i + 1]
      updates[#updates + 1] = tag .. ':c'; updates[#updates + 1] = c + 1
      if ROLLED[i] then
        updates[#updates + 1] = tag .. ':s'; updates[#updates + 1] = fmt(S[i])
        updates[#updates + 1] = tag .. ':p'; updates[#updates + 1] = p
      end
    end
  end
  if allowed == 1 then
    redis.call('HSET', key, unpack(updates))
    if rolled then redis.call('PEXPIREAT', key, fmt(math.ceil(expiry / 1000))) end
  end
  return reply
end
`;

/** Per window fields `<W>:s` and `<W>:c`; the key is needed until the latest window end. */
const FIXED_WINDOW = `local function decide(key, A)
  local n = tonumber(A[1])
  local fields = {}
  for i = 1, n do
    local w = A[2 * i + 1]
    fields[2 * i - 1] = w .. ':s'
    fields[2 * i] = w .. ':c'
  end
  local stored = redis.call('HMGET', key, unpack(fields))
  local S, C, ROLLED = {}, {}, {}
  local allowed, expiry, rolled = 1, 0, false
  for i = 1, n do
    local l, w = tonumber(A[2 * i]), tonumber(A[2 * i + 1])
    local s = tonumber(stored[2 * i - 1]) or 0
    local c = tonumber(stored[2 * i]) or 0
    local start = math.floor(now / w) * w
    ROLLED[i] = start > s
    if ROLLED[i] then c, s, rolled = 0, start, true end
    if c + 1 > l then allowed = 0 end
    S[i], C[i] = s, c
    if s + w > expiry then expiry = s + w end
  end
  local reply, updates = { now, allowed }, {}
  for i = 1, n do
    local l, w = tonumber(A[2 * i]), tonumber(A[2 * i + 1])
    local c = C[i] + allowed
    local reset = w - math.min(math.max(now - S[i], 0), w)
    local retry = 0
    if allowed == 0 and C[i] + 1 > l then retry = reset end
    reply[#reply + 1] = math.max(0, l - c)
    reply[#reply + 1] = reset
    reply[#reply + 1] = retry
    updates[#updates + 1] = A[2 * i + 1] .. ':c'; updates[#updates + 1] = c
    if ROLLED[i] then updates[#updates + 1] = A[2 * i + 1] .. ':s'; updates[#updates + 1] = fmt(S[i]) end
  end
  if allowed == 1 then
    redis.call('HSET', key, unpack(updates))
    if rolled then redis.call('PEXPIREAT', key, fmt(math.ceil(expiry / 1000))) end
  end
  return reply
end
`;

/**
 * One sorted set of admitted requests (score: Redis time in µs, member: unique per request), trimmed
 * to the longest window, so that window's count is ZCARD and its oldest entry ZRANGE 0 0. The expiry
 * (twice the longest window) is renewed only when the log was empty or its oldest entry is at least
 * half the longest window old: by induction every admitted entry then outlives its window, with one
 * write fewer on most decisions.
 */
const SLIDING_LOG = `local function decide(key, A)
  local n = tonumber(A[2])
  local L, W = {}, {}
  local longest, li = 0, 1
  for i = 1, n do
    L[i], W[i] = tonumber(A[2 * i + 1]), tonumber(A[2 * i + 2])
    if W[i] > longest then longest, li = W[i], i end
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - longest))
  local counts, lows = {}, {}
  local allowed = 1
  for i = 1, n do
    if i == li then
      lows[i] = '-inf'
      counts[i] = redis.call('ZCARD', key)
    else
      lows[i] = '(' .. fmt(now - W[i])
      counts[i] = redis.call('ZCOUNT', key, lows[i], '+inf')
    end
    if counts[i] + 1 > L[i] then allowed = 0 end
  end
  local oldest = {}
  for i = 1, n do
    if counts[i] > 0 then
      local first
      if i == li then
        first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      else
        first = redis.call('ZRANGEBYSCORE', key, lows[i], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      end
      oldest[i] = tonumber(first[2])
    end
  end
  if allowed == 1 then
    redis.call('ZADD', key, fmt(now), A[1])
    if counts[li] == 0 or oldest[li] <= now - longest / 2 then
      redis.call('PEXPIRE', key, math.ceil(2 * longest / 1000))
    end
  end
  local reply = { now, allowed }
  for i = 1, n do
    local l, w = L[i], W[i]
    local reset = w
    if oldest[i] then reset = oldest[i] + w - now end
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
end
`;

/**
 * The approximate SyncedStore's sync: adds one instance's admissions to a counter key and returns the
 * totals. Times are the instance's milliseconds (its clock aligns the windows). Per limit
 * ARGV: window, window start, admissions in it, admissions late for the window before. Fields as in
 * SLIDING_WINDOW (`<W>:s`, `<W>:c`, `<W>:p`), in keys of their own. Reply per limit: start, count,
 * previous count.
 */
const SYNC_COUNTERS = `
local function fmt(n) return string.format('%d', n) end
local key = KEYS[1]
local n = tonumber(ARGV[1])
local fields = {}
for i = 1, n do
  local w = ARGV[4 * i - 2]
  fields[3 * i - 2] = w .. ':s'
  fields[3 * i - 1] = w .. ':c'
  fields[3 * i] = w .. ':p'
end
local stored = redis.call('HMGET', key, unpack(fields))
local reply, updates, expiry = {}, {}, 0
for i = 1, n do
  local w, start = tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i - 1])
  local delta, late = tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1])
  local s = tonumber(stored[3 * i - 2]) or 0
  local c = tonumber(stored[3 * i - 1]) or 0
  local p = tonumber(stored[3 * i]) or 0
  if start > s then
    if s == start - w then p = c else p = 0 end
    c, s = 0, start
  end
  if start == s then
    c, p = c + delta, p + late
  elseif start == s - w then
    p = p + delta
  end
  updates[#updates + 1] = fields[3 * i - 2]; updates[#updates + 1] = fmt(s)
  updates[#updates + 1] = fields[3 * i - 1]; updates[#updates + 1] = c
  updates[#updates + 1] = fields[3 * i]; updates[#updates + 1] = p
  if s + 2 * w > expiry then expiry = s + 2 * w end
  reply[#reply + 1] = s
  reply[#reply + 1] = c
  reply[#reply + 1] = p
end
redis.call('HSET', key, unpack(updates))
redis.call('PEXPIREAT', key, fmt(expiry))
return reply
`;

/** One decision: KEYS[1], ARGV as the decision reads it. */
const ONE = `
return decide(KEYS[1], ARGV)
`;

/**
 * Several decisions in one call, in order, each as if alone (the call is atomic as a whole): KEYS are
 * their keys, ARGV per decision its argument count and then its arguments; the reply is their replies
 * one after the other. They share one \`TIME\`.
 */
const MANY = `
local out, at = {}, 1
for k = 1, #KEYS do
  local count = tonumber(ARGV[at])
  local A = {}
  for j = 1, count do A[j] = ARGV[at + j] end
  at = at + count + 1
  local reply = decide(KEYS[k], A)
  for j = 1, #reply do out[#out + 1] = reply[j] end
end
return out
`;

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const RATE_LIMIT_SCRIPTS: Readonly<Record<Algorithm, LuaScript>> = {
  'sliding-window': script(PRELUDE + SLIDING_WINDOW + ONE),
  'fixed-window': script(PRELUDE + FIXED_WINDOW + ONE),
  'sliding-log': script(PRELUDE + SLIDING_LOG + ONE),
};

/** The same decisions, several per call (RedisStore batches the decisions of one event-loop turn). */
export const RATE_LIMIT_BATCH_SCRIPTS: Readonly<Record<Algorithm, LuaScript>> = {
  'sliding-window': script(PRELUDE + SLIDING_WINDOW + MANY),
  'fixed-window': script(PRELUDE + FIXED_WINDOW + MANY),
  'sliding-log': script(PRELUDE + SLIDING_LOG + MANY),
};

export const SYNC_COUNTERS_SCRIPT: LuaScript = script(SYNC_COUNTERS);
