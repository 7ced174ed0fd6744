import type { RateLimitDecision } from './rate-limiter';

export type RateLimitProblemCode = 'RATE_LIMIT.EXCEEDED' | 'RATE_LIMIT.UNAVAILABLE';

/** RFC 9457 body in the shape service-kit's ProblemDetailsFilter produces, plus the draft's extension member. */
export interface RateLimitProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: 429 | 503;
  readonly code: RateLimitProblemCode;
  readonly detail: string;
  readonly instance: string;
  readonly requestId?: string;
  /** draft-ietf-httpapi-ratelimit-headers-11 section 5: names of the policies whose quota was exceeded. */
  readonly 'violated-policies': readonly string[];
  readonly retryAfter: number;
}

export interface RateLimitProblem {
  readonly status: 429 | 503;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: RateLimitProblemBody;
}

/**
 * The response for a refused decision: 429 `RATE_LIMIT.EXCEEDED`, or 503 `RATE_LIMIT.UNAVAILABLE`
 * when a fail-closed rule could not reach its store. Headers include Content-Type, Retry-After and the
 * RateLimit fields. The detail names the policy and numbers only, never the identifier.
 */
export function rateLimitProblem(decision: RateLimitDecision, request: { instance: string; requestId?: string }): RateLimitProblem {
  if (decision.allowed) throw new RangeError('rateLimitProblem needs a refused decision');
  const unavailable = decision.reason === 'store-unavailable';
  const code: RateLimitProblemCode = unavailable ? 'RATE_LIMIT.UNAVAILABLE' : 'RATE_LIMIT.EXCEEDED';
  const status = unavailable ? 503 : 429;
  const retryAfter = decision.retryAfter ?? 1;
  const { binding } = decision;
  const detail = unavailable
    ? `Rate limiting for "${decision.rule}" is unavailable; retry after ${retryAfter} s.`
    : `Rate limit "${binding.policy}" (${binding.limit} requests per ${binding.window} s) exceeded; retry after ${retryAfter} s.`;
  const body: RateLimitProblemBody = {
    type: `https://traceo.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
    title: unavailable ? 'Service Unavailable' : 'Too Many Requests',
    status,
    code,
    detail,
    instance: request.instance,
    ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
    'violated-policies': decision.limits.filter((limit) => limit.exceeded).map((limit) => limit.policy),
    retryAfter,
  };
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', 'Retry-After': String(retryAfter) };
  for (const [name, value] of Object.entries(decision.headers) as [string, string | undefined][])
    if (value !== undefined) headers[name] = value;
  return { status, headers, body };
}
