import { cloudEventEnvelopeSchema, newEventId, type CloudEvent } from './cloud-event';
import { EventRejectedError } from './errors';
import { EVENT_SCHEMAS, isEventType, type EventData, type EventType } from './registry';

export type TypedEvent<T extends EventType = EventType> = CloudEvent<T, EventData<T>>;

export interface NewEvent<T extends EventType> {
  type: T;
  source: string;
  tenantid: string;
  data: EventData<T>;
  subject?: string;
  traceparent?: string;
  id?: string;
  time?: Date;
}

/** Builds and validates an event; a producer can never publish something its consumers would reject. */
export function createEvent<T extends EventType>(input: NewEvent<T>): TypedEvent<T> {
  const event = {
    specversion: '1.0' as const,
    id: input.id ?? newEventId(),
    source: input.source,
    type: input.type,
    time: (input.time ?? new Date()).toISOString(),
    tenantid: input.tenantid,
    datacontenttype: 'application/json' as const,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
    data: input.data,
  };
  return validateEvent(event) as TypedEvent<T>;
}

/** Validates an already-parsed object against the envelope and the data schema for its type. */
export function validateEvent(candidate: unknown): TypedEvent {
  const envelope = cloudEventEnvelopeSchema.safeParse(candidate);
  if (!envelope.success) {
    throw new EventRejectedError('EVENT.INVALID_ENVELOPE', 'event envelope is not a valid CloudEvents 1.0 event', {
      issues: summarize(envelope.error.issues),
    });
  }
  const { type } = envelope.data;
  if (!isEventType(type)) {
    throw new EventRejectedError('EVENT.UNKNOWN_TYPE', `event type ${type} is not registered`, { type });
  }
  const data = EVENT_SCHEMAS[type].safeParse(envelope.data.data);
  if (!data.success) {
    throw new EventRejectedError('EVENT.SCHEMA_VIOLATION', `event data does not match the ${type} schema`, {
      type,
      issues: summarize(data.error.issues),
    });
  }
  return { ...envelope.data, type, data: data.data };
}

/** Decodes a Kafka message value (structured-mode CloudEvent, UTF-8 JSON) and validates it. */
export function decodeEvent(value: Buffer | string | null, expectedTopic?: string): TypedEvent {
  if (value === null || value.length === 0) {
    throw new EventRejectedError('EVENT.MALFORMED_JSON', 'message has no value');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new EventRejectedError('EVENT.MALFORMED_JSON', 'message value is not valid JSON');
  }
  const event = validateEvent(parsed);
  if (expectedTopic !== undefined && event.type !== expectedTopic) {
    throw new EventRejectedError('EVENT.TOPIC_MISMATCH', `event of type ${event.type} arrived on ${expectedTopic}`, {
      type: event.type,
      topic: expectedTopic,
    });
  }
  return event;
}

export function encodeEvent(event: TypedEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** Issue paths and messages only: never the offending values, which may be personal data or secrets. */
function summarize(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.slice(0, 10).map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
}
