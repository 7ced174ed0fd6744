import { TIERS, type RateLimitRule, type RiskBand, type Tier } from './rate-limit.config';

export interface LimitInputs {
  /** The consumer group; anything that is not a tier name (or none) gets the rule's `default_tier`. */
  readonly group?: string;
  readonly authenticated: boolean;
  readonly endpointClass?: string;
  readonly botReasons: readonly string[];
  readonly riskScore?: number;
}

/** How a rule's configured limits were scaled for one request (kept on the decision for logs and events). */
export interface LimitAdjustment {
  readonly tier: Tier;
  readonly tierFactor: number;
  readonly endpointClass?: string;
  readonly endpointFactor: number;
  readonly botLike: boolean;
  readonly botReasons: readonly string[];
  readonly botFactor: number;
  readonly riskScore?: number;
  readonly riskFactor: number;
  /** The product of the four factors. */
  readonly factor: number;
}

export function tierOf(rule: RateLimitRule, group: string | undefined): Tier {
  return group !== undefined && (TIERS as readonly string[]).includes(group) ? (group as Tier) : rule.default_tier;
}

/** The factor of the highest band the score reaches (1 below the first band); non-increasing in the score. */
export function riskFactor(bands: readonly RiskBand[], score: number | undefined): number {
  if (score === undefined || !Number.isFinite(score)) return 1;
  let factor = 1;
  for (const band of bands) if (score >= band.min_score) factor = band.factor;
  return factor;
}

/**
 * Effective limits: each configured limit times tier × endpoint class × bot × risk, rounded down but
 * never below 1 (a rate limit slows a caller down; refusing outright is the risk engine's decision).
 * Bot factors apply to anonymous traffic only unless the rule sets `bot.include_authenticated`.
 */
export function adjustLimits(rule: RateLimitRule, inputs: LimitInputs): { limits: number[]; adjustment: LimitAdjustment } {
  const adjustment = limitAdjustment(rule, inputs);
  return { limits: effectiveLimits(rule, adjustment.factor), adjustment };
}

/** How `adjustLimits` scales this request's limits, without the limits themselves. */
export function limitAdjustment(rule: RateLimitRule, inputs: LimitInputs): LimitAdjustment {
  const tier = tierOf(rule, inputs.group);
  const tierFactor = rule.tiers[tier];
  const { endpointClass, riskScore } = inputs;
  const endpointFactor =
    endpointClass !== undefined && Object.hasOwn(rule.endpoint_classes, endpointClass) ? rule.endpoint_classes[endpointClass]! : 1;
  const botLike = inputs.botReasons.length > 0 && (!inputs.authenticated || rule.bot.include_authenticated);
  const botFactor = botLike ? rule.bot.factor : 1;
  const risk = riskFactor(rule.risk, riskScore);
  const factor = tierFactor * endpointFactor * botFactor * risk;
  // One shape for every adjustment (absent optional fields are undefined), so readers stay monomorphic.
  const adjustment: LimitAdjustment = {
    tier,
    tierFactor,
    endpointClass,
    endpointFactor,
    botLike,
    botReasons: inputs.botReasons,
    botFactor,
    riskScore: riskScore !== undefined && Number.isFinite(riskScore) ? riskScore : undefined,
    riskFactor: risk,
    factor,
  };
  return adjustment;
}

/** The rule's limits scaled by `factor` (see `adjustLimits`). */
export function effectiveLimits(rule: RateLimitRule, factor: number): number[] {
  return rule.limit.map((limit) => Math.max(1, Math.floor(limit * factor + 1e-9)));
}
