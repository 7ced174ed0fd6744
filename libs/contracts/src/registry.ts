import type { z } from 'zod';
import { auditCheckpointV1Schema } from './audit-checkpoint.v1';
import { auditRecordV1Schema } from './audit-record.v1';
import { authRefreshTokenReusedV1Schema } from './auth-refresh-token-reused.v1';
import { authSessionRevokeV1Schema } from './auth-session-revoke.v1';
import { cryptoKeyEventV1Schema } from './crypto-key-event.v1';
import { cryptoSubjectShreddedV1Schema } from './crypto-subject-shredded.v1';
import { deadLetterV1Schema } from './dead-letter.v1';
import { gatewayRequestBlockedV1Schema } from './gateway-request-blocked.v1';
import { gatewayRequestV1Schema } from './gateway-request.v1';
import { probeV1Schema } from './probe.v1';
import { riskDecisionRequestV1Schema } from './risk-decision-request.v1';
import { riskDecisionV1Schema } from './risk-decision.v1';
import topicsFile from './topics.json';

export interface TopicDefinition {
  readonly name: string;
  readonly partitions: number;
  readonly key: string;
  readonly description: string;
}

/**
 * A namespace: lower-case letters, digits, `-` and `_`, ending with a dot (`staging.`,
 * `bench-1a2b3c.`). Environments that share a Kafka cluster each take one, so neither reads the
 * other's topics nor joins the other's consumer groups.
 */
export const TOPIC_NAMESPACE = /^(?:[a-z0-9][a-z0-9_-]{0,46}\.)?$/;
/** TOPIC_NAMESPACE in words, for the messages that refuse a namespace. */
export const TOPIC_NAMESPACE_RULE = 'lower-case letters, digits, - and _, ending with a dot (at most 48 characters)';

/** Every topic the platform uses; created by the project, never auto-created by the broker. */
export const TOPICS: readonly TopicDefinition[] = topicsFile.topics;

/**
 * Event types and their data schemas. An event's type is the name of the topic it travels on, so a
 * consumer can check that a message arrived where its producer meant it to.
 */
export const EVENT_SCHEMAS = {
  'traceo.audit.checkpoint.v1': auditCheckpointV1Schema,
  'traceo.audit.record.v1': auditRecordV1Schema,
  'traceo.auth.refresh-token-reused.v1': authRefreshTokenReusedV1Schema,
  'traceo.auth.session-revoke.v1': authSessionRevokeV1Schema,
  'traceo.crypto.key-event.v1': cryptoKeyEventV1Schema,
  'traceo.crypto.subject-shredded.v1': cryptoSubjectShreddedV1Schema,
  'traceo.gateway.request-blocked.v1': gatewayRequestBlockedV1Schema,
  'traceo.gateway.request.v1': gatewayRequestV1Schema,
  'traceo.platform.dead-letter.v1': deadLetterV1Schema,
  'traceo.platform.probe.v1': probeV1Schema,
  'traceo.risk.decision-request.v1': riskDecisionRequestV1Schema,
  'traceo.risk.decision.v1': riskDecisionV1Schema,
} as const satisfies Record<string, z.ZodType>;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;

export const EventTypes = {
  auditCheckpoint: 'traceo.audit.checkpoint.v1',
  auditRecord: 'traceo.audit.record.v1',
  authRefreshTokenReused: 'traceo.auth.refresh-token-reused.v1',
  authSessionRevoke: 'traceo.auth.session-revoke.v1',
  cryptoKeyEvent: 'traceo.crypto.key-event.v1',
  cryptoSubjectShredded: 'traceo.crypto.subject-shredded.v1',
  gatewayRequestBlocked: 'traceo.gateway.request-blocked.v1',
  gatewayRequest: 'traceo.gateway.request.v1',
  deadLetter: 'traceo.platform.dead-letter.v1',
  probe: 'traceo.platform.probe.v1',
  riskDecisionRequest: 'traceo.risk.decision-request.v1',
  riskDecision: 'traceo.risk.decision.v1',
} as const satisfies Record<string, EventType>;

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, value);
}

export function topicFor(type: EventType): string {
  return type;
}
