import { z } from 'zod';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * traceo.audit.checkpoint.v1 — a signed tree head of one tenant's audit log, published so that an
 * outside witness can keep every checkpoint and later prove the log was not rewritten.
 */
export const auditCheckpointV1Schema = z.strictObject({
  tenantId: z.string().min(1).max(64),
  treeSize: z.number().int().positive(),
  rootHash: z.string().regex(BASE64),
  issuedAt: z.iso.datetime({ offset: true }),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  algorithm: z.literal('Ed25519'),
  /** The exact signed text (see docs/audit.md); its lines repeat tenant, size, root and time. */
  note: z.string().min(1).max(1024),
  signature: z.string().regex(BASE64),
});

export type AuditCheckpointV1 = z.infer<typeof auditCheckpointV1Schema>;
