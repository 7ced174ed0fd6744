import { Cluster, type Redis } from 'ioredis';
import { decideFixedWindow, decideSlidingWindow, newWindowCounters, type WindowCounters } from './algorithms';
import type { Clock, LimitSpec, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';
import { RecentCache } from './recent-cache';
import { SYNC_COUNTERS_SCRIPT } from './redis-scripts';
import { DEFAULT_REDIS_KEY_PREFIX, RedisStore } from './redis.store';

export const MIN_SYNC_INTERVAL_MS = 10;

export interface SyncedStoreOptions {
  readonly client: Redis | Cluster;
  /** Prepended to every key; the keys are `<prefix>sync:{<store key>}`, apart from the exact store's. */
  readonly prefix?: string;
  /** How often this instance adds its admissions to Redis and reads everyone's counts back. */
  readonly syncIntervalMs: number;
  /** Identifiers tracked at once (see RecentCache). */
  readonly maxKeys?: number;
  readonly clock?: Clock;
  /** A sync that failed (decisions go on with the local counts until `staleAfterMs`). */
  readonly onSyncError?: (error: unknown) => void;
}

/** One identifier's counters: everyone's counts as of the last sync plus this instance's admissions since. */
interface Entry {
  readonly key: string;
  readonly limits: readonly LimitSpec[];
  readonly counts: WindowCounters;
  /** Per limit: admissions not yet added to Redis, the window start they were counted in, and unsent ones of the window before. */
  readonly pending: Float64Array;
  readonly pendingStart: Float64Array;
  readonly late: Float64Array;
  queued: boolean;
}

/**
 * APPROXIMATE, opt-in (`TRACEO_RATE_LIMIT_SYNC_MS`): counter decisions (sliding-window and
 * fixed-window) are made in this process, from every instance's counts as of the last sync plus this
 * instance's own admissions since; every `syncIntervalMs` the admissions of the identifiers seen are
 * added to Redis and the totals read back, one script per identifier, in one pipelined batch (Kong
 * Rate Limiting Advanced's `sync_rate`). A decision costs no round trip; the price is accuracy: between
 * two syncs an instance does not see what the others admitted, so with N instances a caller can get up
 * to N times the remaining quota through in one interval (with one instance the count is exact). Windows
 * are aligned on each instance's clock, not Redis's. When syncing has failed for `2 × interval + 1 s`,
 * decide() throws, so the rule's failure mode applies as for the exact store. A sliding log is not
 * approximated: those rules are decided exactly, one script per request (RedisStore).
 */
export class SyncedStore implements RateLimitStore {
  readonly kind = 'redis';
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly entries: RecentCache<Entry>;
  private readonly staleAfterMs: number;
  private readonly onSyncError: (error: unknown) => void;
  private readonly timer: NodeJS.Timeout;
  private readonly exact: RedisStore;
  private queue: Entry[] = [];
  private lastSync: number;
  private syncing: Promise<void> | undefined;
  private failing = false;

  constructor(options: SyncedStoreOptions) {
    if (!Number.isFinite(options.syncIntervalMs) || options.syncIntervalMs < MIN_SYNC_INTERVAL_MS)
      throw new RangeError(`syncIntervalMs must be at least ${MIN_SYNC_INTERVAL_MS}`);
    this.client = options.client;
    this.prefix = `${options.prefix ?? DEFAULT_REDIS_KEY_PREFIX}sync:`;
    this.exact = new RedisStore({ client: options.client, ...(options.prefix !== undefined ? { prefix: options.prefix } : {}) });
    this.clock = options.clock ?? Date.now;
    this.entries = new RecentCache(options.maxKeys ?? 100_000);
    this.staleAfterMs = 2 * options.syncIntervalMs + 1000;
    this.onSyncError = options.onSyncError ?? (() => undefined);
    this.lastSync = this.clock();
    this.timer = setInterval(() => void this.sync(), options.syncIntervalMs).unref();
  }

  decide(request: StoreRequest): StoreVerdict | Promise<StoreVerdict> {
    const { key, algorithm, limits } = request;
    if (algorithm === 'sliding-log') return this.exact.decide(request);
    const now = this.clock();
    if (now - this.lastSync > this.staleAfterMs) throw new Error('rate-limit counters have not been synced with Redis');
    const entry = this.entryFor(key, limits);
    const verdict = (algorithm === 'fixed-window' ? decideFixedWindow : decideSlidingWindow)(entry.counts, limits, now);
    if (verdict.allowed) {
      for (let i = 0; i < limits.length; i += 1) {
        const start = entry.counts[3 * i]!;
        if (entry.pendingStart[i] !== start) {
          // The window rolled before its last admissions were sent: they now count for the previous one.
          entry.late[i] = entry.pendingStart[i] === start - limits[i]!.windowMs ? entry.pending[i]! : 0;
          entry.pending[i] = 0;
          entry.pendingStart[i] = start;
        }
        entry.pending[i]! += 1;
      }
    }
    if (!entry.queued) {
      entry.queued = true;
      this.queue.push(entry);
    }
    return verdict;
  }

  /** Adds the queued admissions to Redis and reads the totals back; resolves when done (never rejects). */
  sync(): Promise<void> {
    this.syncing ??= this.flush()
      .catch((error: unknown) => this.onSyncError(error))
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Stops the timer after a last sync. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sync();
  }

  private entryFor(key: string, limits: readonly LimitSpec[]): Entry {
    const found = this.entries.get(key);
    if (found !== undefined && sameWindows(found.limits, limits)) return found;
    const entry: Entry = {
      key,
      limits,
      counts: newWindowCounters(limits.length),
      pending: new Float64Array(limits.length),
      pendingStart: new Float64Array(limits.length),
      late: new Float64Array(limits.length),
      queued: false,
    };
    this.entries.set(key, entry);
    return entry;
  }

  private async flush(retry = true): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) {
      // Nothing to send: after a failure, only an answer from Redis counts as synced again.
      if (this.failing)
        await Promise.resolve(this.client.ping()).then(
          () => (this.failing = false),
          () => undefined,
        );
      if (!this.failing) this.lastSync = this.clock();
      return;
    }
    const sent = batch.map((entry) => {
      entry.queued = false;
      // With nothing to add, the current window: the sync only reads the totals then.
      const starts = entry.pendingStart.map((start, i) => (entry.pending[i] === 0 && entry.late[i] === 0 ? entry.counts[3 * i]! : start));
      const sending = {
        entry,
        starts,
        deltas: Float64Array.from(entry.pending),
        late: Float64Array.from(entry.late),
      };
      entry.pending.fill(0);
      entry.late.fill(0);
      return sending;
    });
    const calls = sent.map(({ entry, starts, deltas, late }) => {
      const args: string[] = [String(entry.limits.length)];
      for (let i = 0; i < entry.limits.length; i += 1) {
        args.push(String(entry.limits[i]!.windowMs), String(starts[i]), String(deltas[i]), String(late[i]));
      }
      return [`${this.prefix}{${entry.key}}`, ...args];
    });
    let results: [Error | null, unknown][] | null;
    try {
      results = await this.send(calls);
    } catch (error) {
      results = null;
      this.onSyncError(error);
    }
    let failed = results === null;
    sent.forEach((sending, i) => {
      const [error, reply] = results?.[i] ?? [null, undefined];
      if (results === null || error !== null || !Array.isArray(reply)) {
        if (results !== null) failed = true;
        if (error && !error.message.startsWith('NOSCRIPT')) this.onSyncError(error);
        this.requeue(sending);
        return;
      }
      const { entry } = sending;
      this.adopt(entry, reply as number[]);
    });
    // A script cache without the script (first use, flush, failover): load it and send again at once.
    if (retry && results?.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
      // On a Cluster every master needs it (SCRIPT LOAD through the Cluster client reaches one node).
      const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
      const loaded = await Promise.all(nodes.map((node) => node.script('LOAD', SYNC_COUNTERS_SCRIPT.lua))).then(
        () => true,
        () => false,
      );
      if (loaded) return this.flush(false);
    }
    this.failing = failed;
    if (!failed) this.lastSync = this.clock();
  }

  /**
   * One sync script per identifier: a standalone Redis gets them as one pipeline; a Cluster each on its
   * own, routed to its key's master (a Cluster pipeline must stay on one node), all sent at once.
   */
  private async send(calls: readonly (readonly string[])[]): Promise<[Error | null, unknown][] | null> {
    const { sha } = SYNC_COUNTERS_SCRIPT;
    if (!this.client.isCluster) {
      const pipeline = this.client.pipeline();
      for (const [key, ...args] of calls) pipeline.evalsha(sha, 1, key!, ...args);
      return pipeline.exec();
    }
    return Promise.all(
      calls.map(([key, ...args]) =>
        this.client.evalsha(sha, 1, key!, ...args).then(
          (reply): [Error | null, unknown] => [null, reply],
          (error: unknown): [Error | null, unknown] => [error instanceof Error ? error : new Error(String(error)), null],
        ),
      ),
    );
  }

  /** Everyone's counts from Redis, plus what this instance admitted while the sync was under way. */
  private adopt(entry: Entry, reply: readonly number[]): void {
    const { counts, pending, pendingStart } = entry;
    for (let i = 0; i < entry.limits.length; i += 1) {
      const [start, current, previous] = [reply[3 * i]!, reply[3 * i + 1]!, reply[3 * i + 2]!];
      if (start < counts[3 * i]!) continue; // this clock rolled meanwhile; the next sync catches up
      const local = pendingStart[i] === start ? pending[i]! : 0;
      counts[3 * i] = start;
      counts[3 * i + 1] = current + local;
      counts[3 * i + 2] = previous;
    }
  }

  /** A failed sync: its admissions go back into the entry's pending counts, for the window they belong to. */
  private requeue({ entry, starts, deltas, late }: { entry: Entry; starts: Float64Array; deltas: Float64Array; late: Float64Array }): void {
    for (let i = 0; i < deltas.length; i += 1) {
      const windowMs = entry.limits[i]!.windowMs;
      if (entry.pendingStart[i] === starts[i]) {
        entry.pending[i]! += deltas[i]!;
        entry.late[i]! += late[i]!;
      } else if (entry.pendingStart[i] === starts[i]! + windowMs) {
        entry.late[i]! += deltas[i]!;
      }
    }
    if (!entry.queued) {
      entry.queued = true;
      this.queue.push(entry);
    }
  }
}

function sameWindows(a: readonly LimitSpec[], b: readonly LimitSpec[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i]!.windowMs !== b[i]!.windowMs) return false;
  return true;
}
