import {
  decideFixedWindow,
  decideSlidingLog,
  decideSlidingWindow,
  newWindowCounters,
  type SlidingLog,
  type WindowCounters,
} from './algorithms';
import type { Clock, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

export const DEFAULT_MEMORY_STORE_KEYS = 100_000;

export interface MemoryStoreOptions {
  /** Identifiers tracked at once; the least recently used one is forgotten beyond this. */
  readonly maxKeys?: number;
  readonly clock?: Clock;
}

type State =
  { readonly algorithm: 'log'; readonly log: SlidingLog } | { readonly algorithm: 'counters'; readonly counters: WindowCounters };

/**
 * Counters in this process, bounded: a Map kept in least-recently-used order evicts the oldest
 * identifier when full. An evicted identifier starts from zero, so size it above the number of
 * identifiers active within the longest window (an attacker rotating identifiers can otherwise push
 * others out). Used alone for a single instance, and as the local fallback behind the Redis store.
 */
export class MemoryStore implements RateLimitStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, State>();
  private readonly maxKeys: number;
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MEMORY_STORE_KEYS;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  decide(request: StoreRequest): StoreVerdict {
    const now = this.clock();
    const state = this.stateFor(request);
    switch (request.algorithm) {
      case 'sliding-log':
        return decideSlidingLog((state as Extract<State, { algorithm: 'log' }>).log, request.limits, now);
      case 'sliding-window':
        return decideSlidingWindow((state as Extract<State, { algorithm: 'counters' }>).counters, request.limits, now);
      case 'fixed-window':
        return decideFixedWindow((state as Extract<State, { algorithm: 'counters' }>).counters, request.limits, now);
    }
  }

  private stateFor({ key, algorithm, limits }: StoreRequest): State {
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.entries.delete(key);
      const fits = found.algorithm === 'log' ? algorithm === 'sliding-log' : found.counters.start.length === limits.length;
      if (fits) {
        this.entries.set(key, found);
        return found;
      }
    } else if (this.entries.size >= this.maxKeys) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    const state: State =
      algorithm === 'sliding-log'
        ? { algorithm: 'log', log: { entries: [], head: 0 } }
        : { algorithm: 'counters', counters: newWindowCounters(limits.length) };
    this.entries.set(key, state);
    return state;
  }
}
