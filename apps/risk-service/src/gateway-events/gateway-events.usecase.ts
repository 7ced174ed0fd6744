import { Inject, Injectable } from '@nestjs/common';
import { EventTypes, PLATFORM_TENANT, TraceoError, type TypedEvent } from '@traceo/contracts';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { Counter } from 'prom-client';
import { gatewayRequestOf, kongLogEntrySchema } from './kong-log-entry';

/** Entries per call at most; Kong's http-log sends `queue.max_batch_size` (50 in kong/kong.yml). */
export const MAX_GATEWAY_ENTRIES = 1000;
/** Rejected entries listed in a receipt at most (all are counted). */
const MAX_LISTED_REJECTIONS = 100;

export class InvalidGatewayBatchError extends TraceoError {
  readonly code = 'RISK.INVALID_GATEWAY_BATCH';
  readonly status = 400;
}

export interface RejectedEntry {
  readonly index: number;
  readonly code: 'RISK.INVALID_GATEWAY_ENTRY';
  /** Paths and messages only, never the values. */
  readonly issues: readonly string[];
}

export interface GatewayEventsReceipt {
  readonly accepted: number;
  readonly rejectedCount: number;
  /** The first 100 rejected entries, by their index in the batch. */
  readonly rejected: readonly RejectedEntry[];
}

/**
 * Turns a batch of Kong log entries (http-log) into `traceo.gateway.request.v1` events in the outbox,
 * in one group-committed write: the receipt is answered once they are committed, so Kong's retry of
 * a batch it got no answer for is the only way an event is duplicated. An entry that is not a Kong
 * log entry is rejected on its own (counted, listed in the receipt); the others are kept.
 */
@Injectable()
export class GatewayEventsUseCase {
  private readonly entries: Counter<'outcome'>;

  constructor(
    private readonly publisher: EventPublisher,
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
  ) {
    this.entries = new Counter({
      name: 'traceo_risk_gateway_entries_total',
      help: 'Kong log entries received at /v1/risk/gateway-events, by outcome: accepted (published as traceo.gateway.request.v1), rejected',
      labelNames: ['outcome'],
      registers: [runtime.metrics],
    });
  }

  async accept(body: unknown): Promise<GatewayEventsReceipt> {
    const batch = Array.isArray(body) ? (body as unknown[]) : isObject(body) && Object.keys(body).length > 0 ? [body] : undefined;
    if (batch === undefined || batch.length === 0) {
      throw new InvalidGatewayBatchError('the body must be a Kong log entry or a non-empty JSON array of them (http-log)');
    }
    if (batch.length > MAX_GATEWAY_ENTRIES) {
      throw new InvalidGatewayBatchError(`a batch holds at most ${MAX_GATEWAY_ENTRIES} entries (this one has ${batch.length})`);
    }
    const events: TypedEvent[] = [];
    const rejected: RejectedEntry[] = [];
    let rejectedCount = 0;
    batch.forEach((candidate, index) => {
      const parsed = kongLogEntrySchema.safeParse(candidate);
      if (parsed.success) {
        events.push(this.publisher.event(EventTypes.gatewayRequest, PLATFORM_TENANT, gatewayRequestOf(parsed.data)));
        return;
      }
      rejectedCount += 1;
      if (rejected.length < MAX_LISTED_REJECTIONS) {
        const issues = parsed.error.issues
          .slice(0, 10)
          .map((issue) => `${issue.path.map(String).join('.') || '(entry)'}: ${issue.message}`);
        rejected.push({ index, code: 'RISK.INVALID_GATEWAY_ENTRY', issues });
      }
    });
    await this.publisher.publish(events);
    this.entries.inc({ outcome: 'accepted' }, events.length);
    if (rejectedCount > 0) {
      this.entries.inc({ outcome: 'rejected' }, rejectedCount);
      this.runtime.logger.warn({ accepted: events.length, rejected: rejectedCount }, 'gateway log entries rejected');
    }
    return { accepted: events.length, rejectedCount, rejected };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
