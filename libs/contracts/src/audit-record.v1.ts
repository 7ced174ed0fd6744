import { z } from 'zod';

/**
 * traceo.audit.record.v1 — one security-relevant action, as published by any service.
 * Personal data fields (ip, userAgent, before/after) are carried here as the producer knows them;
 * audit-service encrypts them under the data subject's key before they reach the log.
 */
export const auditRecordV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  actor: z.strictObject({
    type: z.enum(['user', 'service', 'api-client', 'system']),
    id: z.string().min(1).max(256),
  }),
  action: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'must be a dotted action name such as service.started'),
  resource: z.strictObject({
    type: z.string().min(1).max(128),
    id: z.string().min(1).max(256).optional(),
  }),
  status: z.enum(['success', 'failure', 'denied']),
  resultCode: z.string().max(128).optional(),
  requestId: z.string().max(128).optional(),
  sessionId: z.string().max(128).optional(),
  subjectId: z.string().max(256).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  deviceFingerprint: z.string().max(256).optional(),
  userAgent: z.string().max(1024).optional(),
  riskScore: z.number().min(0).max(100).optional(),
  keyVersion: z.string().max(128).optional(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type AuditRecordV1 = z.infer<typeof auditRecordV1Schema>;
