import { z } from 'zod';

/** Where in the sign-in lifecycle a decision is asked for. */
export const RISK_DECISION_STAGES = ['sign-in', 'refresh'] as const;

/**
 * traceo.risk.decision-request.v1 — auth-service asks the risk service whether to go on issuing
 * tokens (Kafka request-reply, docs/auth-risk.md). The answer is a `traceo.risk.decision.v1` event on
 * `replyTo` whose `requestId` is this event's id. The asker waits until `deadline` and then applies
 * its documented fallback, so a reply after the deadline is useless and may be skipped. The network
 * context is the end user's as auth-service saw it (at `refresh` it is the client's, usually a server).
 */
export const riskDecisionRequestV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  /** The instant after which the asker no longer waits. */
  deadline: z.iso.datetime({ offset: true }),
  /** Topic the decision goes to. */
  replyTo: z.string().regex(/^traceo\.[a-z0-9.-]+$/),
  stage: z.enum(RISK_DECISION_STAGES),
  accountId: z.uuid(),
  clientId: z.string().min(1).max(128),
  roles: z.array(z.string().min(1).max(64)).max(16),
  /** The browser session, when there is one (the oidc-provider session uid). */
  sessionId: z.string().min(1).max(128).optional(),
  /** RFC 8176 methods used so far in this sign-in (`pwd`, `otp`, `fed`). */
  amr: z.array(z.string().min(1).max(16)).max(8),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** ISO 3166-1 alpha-2, from the gateway's geolocation header. */
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  userAgent: z.string().max(1024).optional(),
  /** Keyed hash of the browser's device cookie (never the cookie itself). */
  deviceFingerprint: z.string().min(1).max(64).optional(),
});

export type RiskDecisionRequestV1 = z.infer<typeof riskDecisionRequestV1Schema>;
