import {
  decideFixedWindow,
  decideSlidingLog,
  decideSlidingWindow,
  newWindowCounters,
  type SlidingLog,
  type WindowCounters,
} from './algorithms';
import { RecentCache } from './recent-cache';
import type { Clock, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

export const DEFAULT_MEMORY_STORE_KEYS = 100_000;

export interface MemoryStoreOptions {
  /** Identifiers tracked at once (at least 2); least recently used ones are forgotten beyond this. */
  readonly maxKeys?: number;
  readonly clock?: Clock;
}

type State = SlidingLog | WindowCounters;

/**
 * Counters in this process, bounded by `maxKeys` (a RecentCache: anything used within the last
 * `maxKeys / 2` distinct identifiers survives). An evicted identifier starts from zero: size the bound
 * above the identifiers active within the longest window (an attacker rotating identifiers can
 * otherwise push others out). Used alone for a single instance, and as the local fallback behind the
 * Redis store.
 */
export class MemoryStore implements RateLimitStore {
  readonly kind = 'memory';
  private readonly states: RecentCache<State>;
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.states = new RecentCache(options.maxKeys ?? DEFAULT_MEMORY_STORE_KEYS);
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.states.size;
  }

  decide(request: StoreRequest): StoreVerdict {
    const now = this.clock();
    const { key, algorithm, limits } = request;
    const state = this.states.get(key);
    if (algorithm === 'sliding-log') {
      const log = state !== undefined && !(state instanceof Float64Array) ? state : this.remember(key, { entries: [], head: 0 });
      return decideSlidingLog(log, limits, now);
    }
    const counters =
      state instanceof Float64Array && state.length === 3 * limits.length ? state : this.remember(key, newWindowCounters(limits.length));
    return algorithm === 'sliding-window' ? decideSlidingWindow(counters, limits, now) : decideFixedWindow(counters, limits, now);
  }

  private remember<S extends State>(key: string, state: S): S {
    this.states.set(key, state);
    return state;
  }
}
