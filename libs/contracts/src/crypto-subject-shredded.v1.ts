import { z } from 'zod';

/**
 * traceo.crypto.subject-shredded.v1 — a data subject's key in a subject keyring was destroyed
 * (crypto-shredding). Every process that holds a lease on subject keys (audit-service) drops the
 * subject's key when it reads this, so nothing more is sealed under it. The event's `tenantid` is the
 * encryption tenant. Carries the subject's opaque id, never key material or personal data.
 */
export const cryptoSubjectShreddedV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  keyringId: z.string().min(1).max(128),
  subjectId: z.string().min(1).max(128),
});

export type CryptoSubjectShreddedV1 = z.infer<typeof cryptoSubjectShreddedV1Schema>;
