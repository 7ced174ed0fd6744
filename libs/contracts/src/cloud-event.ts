import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** W3C Trace Context `traceparent` (version 00). */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const EVENT_TYPE = /^traceo\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$/;

/** Tenant used for events that belong to the platform itself (service start-up, probes). */
export const PLATFORM_TENANT = 'platform';

/**
 * CloudEvents 1.0 envelope in structured JSON mode, with the Traceo extension attributes `tenantid`
 * and `traceparent`. The `data` member is validated separately against the schema registered for `type`.
 */
export const cloudEventEnvelopeSchema = z.strictObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(128),
  source: z.string().min(1).max(256),
  type: z.string().regex(EVENT_TYPE, 'must look like traceo.<domain>.<event>.v<N>'),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1).max(256).optional(),
  tenantid: z.string().regex(TENANT_ID, 'must be a lowercase tenant id'),
  traceparent: z.string().regex(TRACEPARENT, 'must be a W3C traceparent').optional(),
  datacontenttype: z.literal('application/json'),
  dataschema: z.string().optional(),
  data: z.unknown(),
});

export type CloudEventEnvelope = z.infer<typeof cloudEventEnvelopeSchema>;

export interface CloudEvent<TType extends string = string, TData = unknown> extends Omit<CloudEventEnvelope, 'type' | 'data'> {
  type: TType;
  data: TData;
}

/**
 * Time-ordered event id (UUIDv7, RFC 9562): ids sort by creation time, which keeps the inbox
 * table's primary-key index append-mostly.
 */
export function newEventId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isValidTenantId(value: string): boolean {
  return TENANT_ID.test(value);
}
