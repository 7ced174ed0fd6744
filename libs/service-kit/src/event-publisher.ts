import { Inject, Injectable } from '@nestjs/common';
import { createEvent, PLATFORM_TENANT, type AuditRecordV1, type EventData, type EventType, type TypedEvent } from '@traceo/contracts';
import { appendToOutbox, writeToOutbox } from '@traceo/messaging';
import { Counter, type Registry } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

export type AuditEntry = Omit<AuditRecordV1, 'occurredAt'> & { occurredAt?: string };

/** Callers whose events share one INSERT statement, at most. */
const MAX_WRITES_PER_STATEMENT = 500;
/** How long a deferred write waits for another write to join before it starts one of its own. */
const DEFER_MS = 5;

interface QueuedWrite {
  readonly events: readonly TypedEvent[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Publishes events through the service's outbox. Pass the EntityManager of the transaction that
 * makes the business change, so the events exist exactly when the change does.
 *
 * Events without a transaction of their own (e.g. the audit record of every HTTP request) are
 * group-committed: a write starts at once when none is running; writes asked for meanwhile go
 * together in the next one, a single INSERT statement (atomic on its own, so no explicit transaction).
 * Each caller still returns only once its events are committed; when a shared write fails, each
 * caller's events are retried alone, so one bad event fails only its own caller.
 *
 * A deferred write (`deferred: true`, for records written after the response, such as the audit
 * record of an API call) does not start a write of its own at once: it joins the next one, or starts
 * one after DEFER_MS. A client's back-to-back requests then share INSERTs instead of adding one each.
 */
@Injectable()
export class EventPublisher {
  private readonly inFlight = new Set<Promise<unknown>>();
  private queued: QueuedWrite[] = [];
  private flushing = false;
  private deferredFlush: NodeJS.Timeout | undefined;
  /** Monotonic counts of the group commits, read at scrape time (nothing more is done per request). */
  private readonly grouped = { transactions: 0, writes: 0, events: 0 };

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {
    registerGroupCommitMetrics(runtime.metrics, this.grouped);
  }

  event<T extends EventType>(
    type: T,
    tenantid: string,
    data: EventData<T>,
    extra: { subject?: string; traceparent?: string } = {},
  ): TypedEvent<T> {
    return createEvent({ type, source: `/traceo/${this.runtime.name}`, tenantid, data, ...extra });
  }

  async publish(events: readonly TypedEvent[], manager?: EntityManager, options: { deferred?: boolean } = {}): Promise<void> {
    const write = manager ? appendToOutbox(manager, events) : this.commitTogether(events, options.deferred === true);
    this.inFlight.add(write);
    try {
      await write;
    } finally {
      this.inFlight.delete(write);
    }
    if (!manager) this.runtime.relay.notify();
  }

  private commitTogether(events: readonly TypedEvent[], deferred: boolean): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ events, resolve, reject });
      if (this.flushing) return;
      if (deferred) this.deferredFlush ??= setTimeout(() => this.startFlush(), DEFER_MS);
      else this.startFlush();
    });
  }

  private startFlush(): void {
    clearTimeout(this.deferredFlush);
    this.deferredFlush = undefined;
    if (this.flushing || this.queued.length === 0) return;
    this.flushing = true;
    void this.flush();
  }

  /** Never rejects: every outcome goes to the waiting callers. */
  private async flush(): Promise<void> {
    try {
      await this.flushQueued();
    } finally {
      // Set in the same turn as the loop found the queue empty, so no write is left waiting.
      this.flushing = false;
    }
  }

  private async flushQueued(): Promise<void> {
    while (this.queued.length > 0) {
      const writes = this.queued.splice(0, MAX_WRITES_PER_STATEMENT);
      const events = writes.flatMap((w) => w.events);
      try {
        await writeToOutbox(this.runtime.dataSource, events);
        this.grouped.transactions += 1;
        this.grouped.writes += writes.length;
        this.grouped.events += events.length;
        for (const write of writes) write.resolve();
      } catch (error) {
        if (writes.length === 1) {
          writes[0]!.reject(error);
          continue;
        }
        for (const write of writes) {
          await writeToOutbox(this.runtime.dataSource, write.events).then(write.resolve, write.reject);
        }
      }
    }
  }

  /** Appends one audit record (traceo.audit.record.v1) to the outbox. */
  async audit(
    entry: AuditEntry,
    options: { tenantId?: string; manager?: EntityManager; traceparent?: string; deferred?: boolean } = {},
  ): Promise<void> {
    const data: AuditRecordV1 = { ...entry, occurredAt: entry.occurredAt ?? new Date().toISOString() };
    const extra = options.traceparent ? { traceparent: options.traceparent } : {};
    await this.publish([this.event('traceo.audit.record.v1', options.tenantId ?? PLATFORM_TENANT, data, extra)], options.manager, {
      deferred: options.deferred === true,
    });
  }

  /** Waits for outbox writes that are still running (used during shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}

/**
 * `traceo_event_publisher_group_commits_total`, `…_group_commit_writes_total` (callers) and
 * `…_group_commit_events_total`: how many callers and events share one outbox INSERT (its own transaction), on average.
 * Registered once per registry (test fakes may have none).
 */
function registerGroupCommitMetrics(
  registry: Registry | undefined,
  grouped: { readonly [K in 'transactions' | 'writes' | 'events']: number },
): void {
  if (registry === undefined || registry.getSingleMetric('traceo_event_publisher_group_commits_total') !== undefined) return;
  const counter = (name: string, help: string, read: () => number) => {
    let seen = 0;
    const metric: Counter = new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        metric.inc(Math.max(0, value - seen));
        seen = value;
      },
    });
  };
  counter(
    'traceo_event_publisher_group_commits_total',
    'Outbox transactions of group-committed events (no caller transaction)',
    () => grouped.transactions,
  );
  counter('traceo_event_publisher_group_commit_writes_total', 'Callers whose events were group-committed', () => grouped.writes);
  counter('traceo_event_publisher_group_commit_events_total', 'Events group-committed', () => grouped.events);
}
