import { z } from 'zod';

/**
 * traceo.auth.refresh-token-reused.v1 — a refresh token or authorization code that had already been
 * used came back (RFC 9700 §4.14.2, §4.5): auth-service revoked the whole grant (every refresh
 * token, code and stored token issued from it) before answering `invalid_grant`. For the risk
 * service and security analysts. Carries identifiers only, never a token.
 */
export const authRefreshTokenReusedV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  /** What was replayed. */
  credential: z.enum(['refresh_token', 'authorization_code']),
  clientId: z.string().min(1).max(128),
  /** The account the grant belonged to, when known (absent for an authorization code revoked before it was loaded). */
  accountId: z.string().min(1).max(256).optional(),
  /** The revoked grant (family), when known. */
  grantId: z.string().min(1).max(128).optional(),
  /** How many rotations the replayed refresh token had been through. */
  rotations: z.int().nonnegative().optional(),
  /** Stored entries (refresh tokens, codes, grant) deleted with the family. */
  revokedEntries: z.int().nonnegative(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(1024).optional(),
});

export type AuthRefreshTokenReusedV1 = z.infer<typeof authRefreshTokenReusedV1Schema>;
