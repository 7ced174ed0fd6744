import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { TraceoError } from '@traceo/contracts';
import type { RateLimitProblem, RateLimitProblemCode } from '@traceo/rate-limit';
import type { Response } from 'express';

/**
 * A request refused by the RateLimitGuard: 429 `RATE_LIMIT.EXCEEDED`, or 503 `RATE_LIMIT.UNAVAILABLE`
 * when a fail-closed rule could not reach Redis. Carries the whole response libs/rate-limit built.
 */
export class RateLimitRefusal extends TraceoError {
  readonly code: RateLimitProblemCode;
  readonly status: 429 | 503;
  override readonly retryable = true;

  constructor(readonly problem: RateLimitProblem) {
    super(problem.body.detail);
    this.code = problem.body.code;
    this.status = problem.status;
  }
}

/**
 * Renders a RateLimitRefusal exactly as `rateLimitProblem` describes it: problem+json with the draft's
 * `violated-policies` member, Retry-After and the RateLimit fields. Registered after ProblemDetailsFilter,
 * so Nest tries it first; should it not be, the refusal is still a TraceoError and the guard has set
 * the headers, so ProblemDetailsFilter answers the same status and code.
 */
@Catch(RateLimitRefusal)
export class RateLimitProblemFilter implements ExceptionFilter<RateLimitRefusal> {
  catch(refusal: RateLimitRefusal, host: ArgumentsHost): void {
    const { status, headers, body } = refusal.problem;
    host.switchToHttp().getResponse<Response>().status(status).set(headers).send(JSON.stringify(body));
  }
}
