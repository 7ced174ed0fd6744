import type { LimitOutcome, LimitSpec, StoreVerdict } from './rate-limit.store';

// The three algorithms over in-process state. The Lua scripts in redis-scripts.ts are the same
// arithmetic on Redis data (in microseconds); docs/rate-limiting.md states each one's accuracy.
// Windows are aligned to the epoch (start = floor(now / W) * W) in both places.

/**
 * Per limit i: start of the current window at `3i`, requests counted in it at `3i + 1`, requests
 * counted in the one before at `3i + 2`. One array per identifier, so a decision touches little memory.
 */
export type WindowCounters = Float64Array;

const START = 0;
const CURRENT = 1;
const PREVIOUS = 2;

export function newWindowCounters(limits: number): WindowCounters {
  return new Float64Array(3 * limits);
}

/** Timestamps (ms) of admitted requests, ascending, from `head` on; older entries are dropped lazily. */
export interface SlidingLog {
  entries: number[];
  head: number;
}

/**
 * Sliding-window counter: the previous window's count weighted by the share of it still inside the
 * sliding window, plus the current window's count. Admit when that estimate plus this request stays
 * within the limit.
 */
export function decideSlidingWindow(state: WindowCounters, limits: readonly LimitSpec[], now: number): StoreVerdict {
  const estimates = limits.length <= SCRATCH.length ? SCRATCH : new Float64Array(limits.length);
  let allowed = true;
  for (let i = 0; i < limits.length; i += 1) {
    const { limit, windowMs } = limits[i]!;
    roll(state, i, windowMs, now, true);
    estimates[i] = slidingEstimate(state, i, windowMs, now);
    if (estimates[i]! + 1 > limit) allowed = false;
  }
  const outcomes: LimitOutcome[] = [];
  for (let i = 0; i < limits.length; i += 1) {
    const { limit, windowMs } = limits[i]!;
    const elapsed = clamp(now - state[3 * i + START]!, windowMs);
    const exceeded = estimates[i]! + 1 > limit;
    if (allowed) state[3 * i + CURRENT]! += 1;
    outcomes.push({
      remaining: Math.max(0, Math.floor(limit - (estimates[i]! + (allowed ? 1 : 0)))),
      resetMs: windowMs - elapsed,
      retryMs: allowed || !exceeded ? 0 : slidingWindowRetryMs(limit, windowMs, elapsed, state[3 * i + CURRENT]!, state[3 * i + PREVIOUS]!),
    });
  }
  return { allowed, nowMs: now, limits: outcomes };
}

/** Scratch space for one decision's estimates (rules have at most 6 limits; decisions are synchronous). */
const SCRATCH = new Float64Array(6);

/** The previous window's count weighted by its share still inside the sliding window, plus the current count. */
function slidingEstimate(state: WindowCounters, i: number, windowMs: number, now: number): number {
  const elapsed = clamp(now - state[3 * i + START]!, windowMs);
  return (state[3 * i + PREVIOUS]! * (windowMs - elapsed)) / windowMs + state[3 * i + CURRENT]!;
}

/**
 * Time until `previous * (W - e) / W + current + 1 <= limit` holds, with no further admissions: later
 * in this window as the previous window's weight decays, or in the next one (where `current` becomes
 * the previous count).
 */
export function slidingWindowRetryMs(limit: number, windowMs: number, elapsed: number, current: number, previous: number): number {
  // Rounded up to whole milliseconds so that retrying exactly then is admitted despite float rounding.
  const budget = limit - 1 - current;
  if (budget >= 0 && previous > 0) {
    const due = windowMs * (1 - budget / previous);
    if (due < windowMs) return Math.max(Math.ceil(due - elapsed), 1);
  }
  const nextWindowShare = current > limit - 1 ? 1 - (limit - 1) / current : 0;
  return Math.ceil(windowMs - elapsed + windowMs * nextWindowShare);
}

/** Fixed window: a counter per aligned window. The reference; bursts at the boundary pass twice the limit. */
export function decideFixedWindow(state: WindowCounters, limits: readonly LimitSpec[], now: number): StoreVerdict {
  let allowed = true;
  for (let i = 0; i < limits.length; i += 1) {
    roll(state, i, limits[i]!.windowMs, now, false);
    if (state[3 * i + CURRENT]! + 1 > limits[i]!.limit) allowed = false;
  }
  const outcomes: LimitOutcome[] = [];
  for (let i = 0; i < limits.length; i += 1) {
    const { limit, windowMs } = limits[i]!;
    const exceeded = state[3 * i + CURRENT]! + 1 > limit;
    if (allowed) state[3 * i + CURRENT]! += 1;
    const resetMs = windowMs - clamp(now - state[3 * i + START]!, windowMs);
    outcomes.push({ remaining: Math.max(0, limit - state[3 * i + CURRENT]!), resetMs, retryMs: allowed || !exceeded ? 0 : resetMs });
  }
  return { allowed, nowMs: now, limits: outcomes };
}

/** Sliding log: exact count of admitted requests in (now - W, now] for every limit. */
export function decideSlidingLog(log: SlidingLog, limits: readonly LimitSpec[], now: number): StoreVerdict {
  let longest = 0;
  for (const { windowMs } of limits) longest = Math.max(longest, windowMs);
  const { entries } = log;
  while (log.head < entries.length && entries[log.head]! <= now - longest) log.head += 1;
  if (log.head > 64 && log.head * 2 > entries.length) {
    entries.splice(0, log.head);
    log.head = 0;
  }
  const firstInWindow = new Array<number>(limits.length);
  let allowed = true;
  for (let i = 0; i < limits.length; i += 1) {
    firstInWindow[i] = firstAfter(entries, log.head, now - limits[i]!.windowMs);
    if (entries.length - firstInWindow[i]! + 1 > limits[i]!.limit) allowed = false;
  }
  const counts = firstInWindow.map((first) => entries.length - first);
  if (allowed) insertSorted(entries, log.head, now);
  const outcomes = limits.map(({ limit, windowMs }, i): LimitOutcome => {
    const count = counts[i]!;
    const oldest = entries[firstInWindow[i]!];
    return {
      remaining: Math.max(0, limit - count - (allowed ? 1 : 0)),
      resetMs: oldest === undefined ? windowMs : oldest + windowMs - now,
      retryMs: allowed || count + 1 <= limit ? 0 : entries[firstInWindow[i]! + count - limit]! + windowMs - now,
    };
  });
  return { allowed, nowMs: now, limits: outcomes };
}

/** Moves window i to the window containing `now`; the count of the window just ended becomes `previous`. */
function roll(state: WindowCounters, i: number, windowMs: number, now: number, keepPrevious: boolean): void {
  const start = Math.floor(now / windowMs) * windowMs;
  const at = 3 * i;
  if (start <= state[at + START]!) return; // same window, or a clock that stepped back: stay in the newer one
  state[at + PREVIOUS] = keepPrevious && state[at + START] === start - windowMs ? state[at + CURRENT]! : 0;
  state[at + CURRENT] = 0;
  state[at + START] = start;
}

function clamp(elapsed: number, windowMs: number): number {
  return elapsed < 0 ? 0 : elapsed > windowMs ? windowMs : elapsed;
}

/** Index of the first entry strictly greater than `bound` (binary search from `from`). */
function firstAfter(entries: readonly number[], from: number, bound: number): number {
  let low = from;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle]! <= bound) low = middle + 1;
    else high = middle;
  }
  return low;
}

function insertSorted(entries: number[], from: number, value: number): void {
  if (entries.length === 0 || entries[entries.length - 1]! <= value) entries.push(value);
  else entries.splice(firstAfter(entries, from, value), 0, value);
}
