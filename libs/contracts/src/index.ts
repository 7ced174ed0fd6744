export { canonicalJson } from './canonical-json';
export { buildAsyncApiDocument } from './asyncapi';
export { auditCheckpointV1Schema, type AuditCheckpointV1 } from './audit-checkpoint.v1';
export { auditRecordV1Schema, type AuditRecordV1 } from './audit-record.v1';
export { authRefreshTokenReusedV1Schema, type AuthRefreshTokenReusedV1 } from './auth-refresh-token-reused.v1';
export { authSessionRevokeV1Schema, type AuthSessionRevokeV1 } from './auth-session-revoke.v1';
export { cryptoKeyEventV1Schema, type CryptoKeyEventV1 } from './crypto-key-event.v1';
export { cryptoSubjectShreddedV1Schema, type CryptoSubjectShreddedV1 } from './crypto-subject-shredded.v1';
export {
  PLATFORM_TENANT,
  cloudEventEnvelopeSchema,
  isValidTenantId,
  newEventId,
  type CloudEvent,
  type CloudEventEnvelope,
} from './cloud-event';
export { deadLetterV1Schema, type DeadLetterV1 } from './dead-letter.v1';
export { gatewayRequestBlockedV1Schema, type GatewayRequestBlockedV1 } from './gateway-request-blocked.v1';
export { gatewayRequestV1Schema, type GatewayRequestV1 } from './gateway-request.v1';
export { EventRejectedError, TraceoError, type EventRejectionCode } from './errors';
export { createEvent, decodeEvent, encodeEvent, validateEvent, type NewEvent, type TypedEvent } from './event-codec';
export { probeV1Schema, type ProbeV1 } from './probe.v1';
export { RISK_DECISION_STAGES, riskDecisionRequestV1Schema, type RiskDecisionRequestV1 } from './risk-decision-request.v1';
export { RISK_DECISIONS, riskDecisionV1Schema, type RiskDecisionV1 } from './risk-decision.v1';
export {
  EVENT_SCHEMAS,
  EventTypes,
  TOPIC_NAMESPACE,
  TOPIC_NAMESPACE_RULE,
  TOPICS,
  isEventType,
  topicFor,
  type EventData,
  type EventType,
  type TopicDefinition,
} from './registry';
