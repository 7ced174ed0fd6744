import type { Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitProblemFilter } from './rate-limit.refusal';
import { RateLimitRuntime } from './rate-limit.runtime';

/**
 * The global RateLimitGuard with what it needs. List these after AUTH_PROVIDERS (global guards run in
 * registration order, and limits use the principal) and after ProblemDetailsFilter (global filters are
 * tried last-registered first, so RateLimitProblemFilter answers refusals). Needs DiscoveryModule.
 */
export const RATE_LIMIT_PROVIDERS: Provider[] = [
  RateLimitRuntime,
  { provide: APP_GUARD, useClass: RateLimitGuard },
  { provide: APP_FILTER, useClass: RateLimitProblemFilter },
];
