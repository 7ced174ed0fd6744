import { Inject, Injectable } from '@nestjs/common';
import { createEvent, PLATFORM_TENANT, type AuditRecordV1, type EventData, type EventType, type TypedEvent } from '@traceo/contracts';
import { appendToOutbox } from '@traceo/messaging';
import type { EntityManager } from 'typeorm';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

export type AuditEntry = Omit<AuditRecordV1, 'occurredAt'> & { occurredAt?: string };

/**
 * Publishes events through the service's outbox. Pass the EntityManager of the transaction that
 * makes the business change, so the events exist exactly when the change does.
 */
@Injectable()
export class EventPublisher {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  event<T extends EventType>(
    type: T,
    tenantid: string,
    data: EventData<T>,
    extra: { subject?: string; traceparent?: string } = {},
  ): TypedEvent<T> {
    return createEvent({ type, source: `/traceo/${this.runtime.name}`, tenantid, data, ...extra });
  }

  async publish(events: readonly TypedEvent[], manager?: EntityManager): Promise<void> {
    const write = manager ? appendToOutbox(manager, events) : this.runtime.dataSource.transaction((own) => appendToOutbox(own, events));
    this.inFlight.add(write);
    try {
      await write;
    } finally {
      this.inFlight.delete(write);
    }
    if (!manager) this.runtime.relay.notify();
  }

  /** Appends one audit record (traceo.audit.record.v1) to the outbox. */
  async audit(entry: AuditEntry, options: { tenantId?: string; manager?: EntityManager; traceparent?: string } = {}): Promise<void> {
    const data: AuditRecordV1 = { ...entry, occurredAt: entry.occurredAt ?? new Date().toISOString() };
    const extra = options.traceparent ? { traceparent: options.traceparent } : {};
    await this.publish([this.event('traceo.audit.record.v1', options.tenantId ?? PLATFORM_TENANT, data, extra)], options.manager);
  }

  /** Waits for outbox writes that are still running (used during shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
