/**
 * Base class for every error that crosses a boundary. The code is stable and documented; HTTP maps it
 * to RFC 9457 problem+json, Kafka consumers put it on the dead-letter record. The message must never
 * contain secrets or personal data: it is shown to callers.
 */
export abstract class TraceoError extends Error {
  abstract readonly code: string;
  /** HTTP status this error maps to; transports other than HTTP ignore it. */
  abstract readonly status: number;
  /** Whether retrying the same input can succeed (infrastructure hiccup) or never will (bad input). */
  readonly retryable: boolean = false;

  constructor(
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type EventRejectionCode =
  'EVENT.MALFORMED_JSON' | 'EVENT.INVALID_ENVELOPE' | 'EVENT.UNKNOWN_TYPE' | 'EVENT.SCHEMA_VIOLATION' | 'EVENT.TOPIC_MISMATCH';

/** An event that can never be processed as it is: it goes to the dead-letter topic, not to a retry. */
export class EventRejectedError extends TraceoError {
  readonly status = 422;

  constructor(
    readonly code: EventRejectionCode,
    message: string,
    details?: Readonly<Record<string, unknown>>,
  ) {
    super(message, details);
  }
}
