import { z } from 'zod';

/**
 * traceo.auth.session-revoke.v1 — a command to auth-service: end every session of an account and
 * revoke every grant (refresh tokens, codes) issued to it, or, with `sessionId`, end that one session
 * and the grants (token families) issued through it. Sent by the risk service or an analyst's
 * tooling when an account is compromised. Access tokens already issued stay valid until they expire
 * (at most 15 minutes). The event's `tenantid` is the account's tenant.
 */
export const authSessionRevokeV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  accountId: z.uuid(),
  /** One session of the account (its id as listed by auth-service); absent: all of them. */
  sessionId: z.string().min(1).max(128).optional(),
  reason: z.string().min(1).max(256),
  /** Who asked: a service or a person, for the audit record. */
  requestedBy: z.strictObject({
    type: z.enum(['user', 'service', 'system']),
    id: z.string().min(1).max(256),
  }),
});

export type AuthSessionRevokeV1 = z.infer<typeof authSessionRevokeV1Schema>;
