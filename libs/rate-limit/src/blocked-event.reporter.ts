import type { Clock } from './rate-limit.store';
import type { RateLimitDecision } from './rate-limiter';
import { requestBlockedEvent, type RequestBlockedV1 } from './request-blocked.event';

/**
 * `data` of a `traceo.gateway.request-blocked.v1` event as an enforcer publishes it: the decision's
 * fields (`requestBlockedEvent`) plus the debounced count and the refused call. libs/contracts'
 * `gatewayRequestBlockedV1Schema` is the published contract; a spec checks the two agree.
 */
export interface BlockedEventData extends RequestBlockedV1 {
  /** Blocks of the same identifier and rule since the previous event that were not published (debounced). */
  readonly suppressed?: number;
  /** The refused call: method and route template (never the raw path). */
  readonly request: { readonly method: string; readonly route: string };
}

/** Where the refused request came from, for the event's envelope and its `request` member. */
export interface BlockedRequest {
  readonly tenantId: string;
  readonly method: string;
  /** Route template (never the raw path). */
  readonly route: string;
  readonly traceparent?: string;
}

export interface BlockedEventReporterOptions {
  /** Writes one event (the services' guard: EventPublisher through the outbox; the Kong plugin: a Kafka producer). */
  readonly publish: (data: BlockedEventData, request: BlockedRequest) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  readonly clock?: Clock;
  /** At most one event per identifier and rule in this interval (default 1 s). */
  readonly debounceMs?: number;
  /** Events per second from this process, whatever the identifiers (default 100): rotating identifiers cannot flood the outbox. */
  readonly maxPerSecond?: number;
  /** Writes allowed at once (default 32); a refusal beyond them waits for a later flush rather than queueing behind a slow database. */
  readonly maxInFlight?: number;
  /** Identifier-and-rule pairs remembered at once (default 10,000); the bound on what waits to be published. */
  readonly maxTracked?: number;
}

export interface BlockedEventCounters {
  readonly published: number;
  /** Debounced: not published when they happened, counted in a later event of the same identifier and rule (`suppressed`). */
  readonly suppressed: number;
  /** Over the per-process rate or in-flight cap when they happened: published by a later flush, when the caps allow. */
  readonly deferred: number;
  /**
   * Lost: refusals still waiting when more identifiers than `maxTracked` came within one interval, or
   * when the reporter stopped with the caps reached. The audit log still has every refusal.
   */
  readonly dropped: number;
  readonly failed: number;
}

interface Recent {
  at: number;
  suppressed: number;
  /** The latest debounced refusal, published with the count when no further one comes (flush). */
  last?: { decision: RateLimitDecision; request: BlockedRequest };
}

const MAX_TRACKED = 10_000;

/**
 * Turns refusals into `traceo.gateway.request-blocked.v1` events without letting an attack flood the
 * outbox: one event per identifier and rule per second (later blocks in that second are counted and
 * reported as `suppressed` on the next event), at most `maxPerSecond` events per process, and no
 * more than `maxInFlight` outbox writes at once. Never throws and never delays the response.
 *
 * An event stands for itself plus `suppressed` refusals. Refusals debounced after an identifier's last
 * event are not lost when no further one comes: `flush` (every `debounceMs` once `start`ed, and at
 * `stop`) publishes the latest of them with the count of the others. A refusal over the per-process
 * caps waits the same way (`deferred`): each flush publishes what the caps allow, oldest first, so a
 * burst of many identifiers drains at `maxPerSecond`. Only what waits when more than `maxTracked`
 * identifiers come within one interval, or at `stop` beyond the caps, is lost (`dropped`; the audit
 * log still has each refusal).
 */
export class BlockedEventReporter {
  private readonly recent = new Map<string, Recent>();
  /** Keys of `recent` holding a debounced refusal not yet published (what `flush` looks at). */
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly debounceMs: number;
  private readonly maxPerSecond: number;
  private readonly maxInFlight: number;
  private readonly maxTracked: number;
  private second = 0;
  private inSecond = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly totals = { published: 0, suppressed: 0, deferred: 0, dropped: 0, failed: 0 };

  constructor(private readonly options: BlockedEventReporterOptions) {
    this.clock = options.clock ?? Date.now;
    this.debounceMs = options.debounceMs ?? 1000;
    this.maxPerSecond = options.maxPerSecond ?? 100;
    this.maxInFlight = options.maxInFlight ?? 32;
    this.maxTracked = options.maxTracked ?? MAX_TRACKED;
  }

  counters(): BlockedEventCounters {
    return { ...this.totals };
  }

  report(decision: RateLimitDecision, request: BlockedRequest): void {
    const now = this.clock();
    const key = `${decision.rule}\n${decision.identifier.hash}`;
    const previous = this.recent.get(key);
    if (previous !== undefined && now - previous.at < this.debounceMs) {
      previous.suppressed += 1;
      previous.last = { decision, request };
      this.pending.add(key);
      this.totals.suppressed += 1;
      return;
    }
    if (this.recent.size >= this.maxTracked && previous === undefined) this.forgetOlderThan(now - this.debounceMs);
    if (!this.admit(now)) {
      // Waits as a debounced refusal would, due at the next flush (a new key counts as last published an interval ago).
      const entry = previous ?? { at: now - this.debounceMs, suppressed: 0 };
      entry.suppressed += 1;
      entry.last = { decision, request };
      if (previous === undefined) this.recent.set(key, entry);
      this.pending.add(key);
      this.totals.deferred += 1;
      return;
    }
    this.publish(key, now, decision, request, previous?.suppressed ?? 0);
  }

  /** Flushes every `debounceMs` until `stop` (the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.flush(), this.debounceMs);
    this.timer.unref();
  }

  /** Stops the timer and publishes every pending count at once (shutdown), as far as the caps allow; then `settle`. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush(true);
    for (const key of this.pending) this.lose(this.recent.get(key));
    this.pending.clear();
  }

  /**
   * For each identifier and rule whose last event is at least `debounceMs` old (or every one, `all`)
   * and that has debounced refusals since: publishes the latest of them, with the others as
   * `suppressed`. Subject to the same per-process caps; what they hold back waits for the next flush.
   */
  flush(all = false): void {
    const now = this.clock();
    for (const key of this.pending) {
      const entry = this.recent.get(key);
      if (entry?.last === undefined) {
        this.pending.delete(key); // forgotten meanwhile
        continue;
      }
      if (!all && now - entry.at < this.debounceMs) continue;
      if (!this.admit(now)) return;
      this.publish(key, now, entry.last.decision, entry.last.request, entry.suppressed - 1);
    }
  }

  private publish(key: string, now: number, decision: RateLimitDecision, request: BlockedRequest, suppressed: number): void {
    this.pending.delete(key);
    this.recent.delete(key); // re-inserted last: the map stays ordered by time of the last event
    this.recent.set(key, { at: now, suppressed: 0 });
    const data: BlockedEventData = {
      ...requestBlockedEvent(decision),
      ...(suppressed > 0 ? { suppressed } : {}),
      request: { method: request.method, route: request.route.slice(0, 256) || '/' },
    };
    const write = this.options.publish(data, request).then(
      () => {
        this.totals.published += 1;
      },
      (error: unknown) => {
        this.totals.failed += 1;
        this.options.onError?.(error);
      },
    );
    this.inFlight.add(write);
    void write.finally(() => {
      this.inFlight.delete(write);
      // Started: what waited for a free write goes now rather than at the next interval (the caps still hold).
      if (this.timer !== undefined && this.pending.size > 0) this.flush();
    });
  }

  /** Waits for the writes that are running (tests; shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private admit(now: number): boolean {
    if (this.inFlight.size >= this.maxInFlight) return false;
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.inSecond = 0;
    }
    if (this.inSecond >= this.maxPerSecond) return false;
    this.inSecond += 1;
    return true;
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [key, entry] of this.recent) {
      if (entry.at >= cutoff) break;
      if (entry.last !== undefined) continue; // still to be published
      this.recent.delete(key);
    }
    // Everything is recent or waiting (more identifiers in one interval than tracked): start over rather than grow.
    if (this.recent.size >= this.maxTracked) {
      for (const key of this.pending) this.lose(this.recent.get(key));
      this.recent.clear();
      this.pending.clear();
    }
  }

  /** Counts the refusals an entry was still holding as lost. */
  private lose(entry: Recent | undefined): void {
    if (entry?.last !== undefined) this.totals.dropped += entry.suppressed;
  }
}
