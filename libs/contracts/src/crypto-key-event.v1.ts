import { z } from 'zod';

/**
 * traceo.crypto.key-event.v1 — one use or lifecycle change of encryption-service keys: who, which
 * keyring and key versions, how many fields, and the outcome. Never carries plaintext, ciphertext,
 * tokens or key material; subject ids are not carried either (only how many subjects were involved).
 */
export const cryptoKeyEventV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  action: z.enum([
    'crypto.encrypt',
    'crypto.decrypt',
    'crypto.rewrap',
    'crypto.tokens',
    'crypto.query-tokens',
    'crypto.keyring-created',
    'crypto.key-rotated',
    'crypto.key-retired',
    'crypto.key-destroyed',
    'crypto.keyring-updated',
    'crypto.subject-shredded',
    'crypto.subject-keys-leased',
  ]),
  actor: z.strictObject({
    type: z.enum(['user', 'service', 'api-client', 'system']),
    id: z.string().min(1).max(256),
  }),
  keyringId: z.string().min(1).max(128),
  purpose: z.enum(['field', 'blind-index', 'range', 'subject']),
  keyVersions: z.array(z.number().int().positive()).max(1000),
  fields: z.number().int().nonnegative(),
  subjects: z.number().int().nonnegative().optional(),
  status: z.enum(['success', 'partial', 'failure']),
  failures: z.record(z.string().max(64), z.number().int().positive()).optional(),
  reason: z.string().max(64).optional(),
});

export type CryptoKeyEventV1 = z.infer<typeof cryptoKeyEventV1Schema>;
