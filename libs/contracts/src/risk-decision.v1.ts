import { z } from 'zod';

/** What the asker must do: go on, ask for a second factor first, or refuse. */
export const RISK_DECISIONS = ['allow', 'step-up', 'deny'] as const;

/**
 * traceo.risk.decision.v1 — the risk service's answer to a `traceo.risk.decision-request.v1`,
 * matched by `requestId` (the request event's id).
 */
export const riskDecisionV1Schema = z.strictObject({
  requestId: z.string().min(1).max(128),
  decidedAt: z.iso.datetime({ offset: true }),
  decision: z.enum(RISK_DECISIONS),
  /** 0 (no risk seen) to 100. */
  score: z.int().min(0).max(100),
  /** Stable rule codes that led to the decision, for the audit record. */
  reasons: z.array(z.string().min(1).max(128)).max(16),
});

export type RiskDecisionV1 = z.infer<typeof riskDecisionV1Schema>;
