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
  /** Identifiers tracked at once (at least 2); least recently used ones are forgotten beyond this. */
  readonly maxKeys?: number;
  readonly clock?: Clock;
}

type State =
  { readonly algorithm: 'log'; readonly log: SlidingLog } | { readonly algorithm: 'counters'; readonly counters: WindowCounters };

/**
 * Counters in this process, bounded by `maxKeys`. Eviction is least-recently-used in two
 * generations: lookups go to the young generation, then the old one (promoting the entry); when the
 * young generation holds half the bound, the old one is dropped whole and the young one becomes old.
 * So anything used within the last `maxKeys / 2` distinct identifiers survives, with no reordering
 * on a hit. An evicted identifier starts from zero: size the bound above the identifiers active
 * within the longest window (an attacker rotating identifiers can otherwise push others out). Used
 * alone for a single instance, and as the local fallback behind the Redis store.
 */
export class MemoryStore implements RateLimitStore {
  readonly kind = 'memory';
  private young = new Map<string, State>();
  private old = new Map<string, State>();
  private readonly generationSize: number;
  private readonly clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? DEFAULT_MEMORY_STORE_KEYS;
    if (!Number.isInteger(maxKeys) || maxKeys < 2) throw new RangeError('maxKeys must be an integer of at least 2');
    this.generationSize = Math.floor(maxKeys / 2);
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.young.size + this.old.size;
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
    let state = this.young.get(key);
    if (state === undefined) {
      state = this.old.get(key);
      if (state !== undefined) this.old.delete(key);
      if (this.young.size >= this.generationSize) {
        this.old = this.young;
        this.young = new Map();
      }
      if (state !== undefined) this.young.set(key, state);
    }
    const fits =
      state !== undefined && (state.algorithm === 'log' ? algorithm === 'sliding-log' : state.counters.start.length === limits.length);
    if (fits) return state!;
    const fresh: State =
      algorithm === 'sliding-log'
        ? { algorithm: 'log', log: { entries: [], head: 0 } }
        : { algorithm: 'counters', counters: newWindowCounters(limits.length) };
    this.young.set(key, fresh);
    return fresh;
  }
}
