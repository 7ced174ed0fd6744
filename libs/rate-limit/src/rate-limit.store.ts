import type { Algorithm } from './rate-limit.config';

/** Milliseconds since the epoch; the memory store's only source of time (tests pass a fake). */
export type Clock = () => number;

export interface LimitSpec {
  /** Requests admitted per window (already adjusted for tier, endpoint, bot and risk). */
  readonly limit: number;
  readonly windowMs: number;
}

/** One decision: admit the request under every limit, or under none (nothing is counted then). */
export interface StoreRequest {
  /** Unique per rule, algorithm and identifier; contains no raw identifier. */
  readonly key: string;
  readonly algorithm: Algorithm;
  readonly limits: readonly LimitSpec[];
}

export interface LimitOutcome {
  /** Requests this limit would still admit right after this decision. */
  readonly remaining: number;
  /** Milliseconds until this limit's quota next grows (see docs/rate-limiting.md per algorithm). */
  readonly resetMs: number;
  /** Milliseconds until this limit would admit one request; 0 when it admitted this one. */
  readonly retryMs: number;
}

export interface StoreVerdict {
  readonly allowed: boolean;
  /** The store's clock at the decision (Redis `TIME` for the Redis store), milliseconds. */
  readonly nowMs: number;
  readonly limits: readonly LimitOutcome[];
}

/** Where counters live. Decisions are atomic per request: concurrent callers never both take the last slot. */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  decide(request: StoreRequest): StoreVerdict | Promise<StoreVerdict>;
  /**
   * Where a key lives when the store is made of parts that fail on their own (a Redis Cluster's hash
   * slot). The limiter then pauses only the failed part after an error, and keys elsewhere are still
   * decided by the store; without it, one error pauses the whole store.
   */
  readonly partitionOf?: (key: string) => number;
}
