import { createPrivateKey } from 'node:crypto';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';

function isEd25519Pkcs8(value: string): boolean {
  try {
    return createPrivateKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'pkcs8' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

export const auditConfigSchema = baseConfigSchema.extend({
  /** Ed25519 private key (PKCS#8 DER, base64) that signs checkpoints. Secret: never logged. */
  TRACEO_AUDIT_SIGNING_KEY: z.string({ error: 'is required' }).refine(isEd25519Pkcs8, 'must be a base64 PKCS#8 Ed25519 private key'),
  TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
  /** Also checkpoint as soon as this many records were appended since the last checkpoint. */
  TRACEO_AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  TRACEO_AUDIT_RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(3_600_000),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;
