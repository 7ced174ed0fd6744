import { z } from 'zod';

/**
 * traceo.audit.record.v1 — one security-relevant action, as published by any service.
 * Personal data fields (ip, userAgent, before/after) are carried here as the producer knows them;
 * audit-service encrypts them under the data subject's key before they reach the log.
 *
 * Fields are listed in RFC 8785 order (so are actor's and resource's): zod returns a parsed record's
 * fields in its schema's order, and audit-service hashes records as canonical JSON, which
 * JSON.stringify then writes as they are (canonicalJson's fast path). The order changes no record.
 */
export const auditRecordV1Schema = z.strictObject({
  action: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'must be a dotted action name such as service.started'),
  actor: z.strictObject({
    id: z.string().min(1).max(256),
    type: z.enum(['user', 'service', 'api-client', 'system']),
  }),
  after: z.unknown().optional(),
  before: z.unknown().optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  deviceFingerprint: z.string().max(256).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  keyVersion: z.string().max(128).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  requestId: z.string().max(128).optional(),
  resource: z.strictObject({
    id: z.string().min(1).max(256).optional(),
    type: z.string().min(1).max(128),
  }),
  resultCode: z.string().max(128).optional(),
  riskScore: z.number().min(0).max(100).optional(),
  sessionId: z.string().max(128).optional(),
  status: z.enum(['success', 'failure', 'denied']),
  subjectId: z.string().max(256).optional(),
  userAgent: z.string().max(1024).optional(),
});

export type AuditRecordV1 = z.infer<typeof auditRecordV1Schema>;
