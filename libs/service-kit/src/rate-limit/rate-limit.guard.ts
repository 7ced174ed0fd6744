import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PLATFORM_TENANT } from '@traceo/contracts';
import { rateLimitProblem, TIERS, type RateLimitDecision, type RateLimitRequest, type Tier } from '@traceo/rate-limit';
import { ALL_TENANTS, principalOfRequest, type Principal } from '@traceo/security';
import type { Request, Response } from 'express';
import { RATE_LIMIT_RULE, SKIP_RATE_LIMIT, type RateLimitDeclaration } from './rate-limit.decorators';
import { RateLimitRefusal } from './rate-limit.refusal';
import { RateLimitRuntime } from './rate-limit.runtime';
import { ANONYMOUS_RULE, DEFAULT_RULE } from './rate-limit.settings';

/** Probes and documents are never limited: health, metrics, the OpenAPI document, `/v1/<service>/info`. */
export const NEVER_LIMITED = /^\/(?:health(?:\/|$)|metrics\/?$|docs(?:-json|-yaml)?(?:\/|$)|v1\/[a-z][a-z0-9-]*\/info\/?$)/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TIER_SCOPE = 'tier:';

/**
 * The application-layer rate limit (defence in depth behind the gateway), global in every service and
 * registered after the AuthGuard, so it sees the principal: an authenticated caller is limited per
 * principal (`<via>:<subject>`) under the route's @RateLimit() rule or `default`, in its tier; anyone
 * else per client IP (X-Forwarded-For believed only from TRACEO_TRUSTED_PROXIES) under `anonymous`.
 * Admitted responses carry RateLimit-Policy and RateLimit; a refusal is a 429 (503 for a fail-closed
 * rule without Redis) problem+json with Retry-After, and a debounced request-blocked event.
 */
/** What the guard needs to know about a route, read from its metadata once (on its first request). */
interface RoutePlan {
  readonly skip: boolean;
  readonly declared: RateLimitDeclaration | undefined;
}

@Injectable()
export class RateLimitGuard implements CanActivate {
  /** Per controller class, per handler: a handler can be inherited by several controllers. */
  private readonly plans = new WeakMap<object, WeakMap<object, RoutePlan>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly rateLimits: RateLimitRuntime,
  ) {}

  /** Synchronous when the decision is (in-memory store); a promise only while Redis is asked. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const limiter = this.rateLimits.limiter;
    if (limiter === undefined || context.getType() !== 'http') return true;
    const plan = this.planOf(context);
    if (plan.skip) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Request & { id?: unknown }>();
    const path = request.path;
    if (NEVER_LIMITED.test(path)) return true;

    const { declared } = plan;
    const principal = principalOfRequest(request);
    const route = (request.route as { path?: unknown } | undefined)?.path;
    const facts: RateLimitRequest = {
      remoteAddress: request.socket.remoteAddress,
      headers: request.headers,
      path,
      route: typeof route === 'string' ? route : undefined,
      consumer: principal ? { id: `${principal.via}:${principal.subject}`, group: this.tierOf(principal) } : undefined,
      endpointClass: declared?.endpointClass,
    };
    const decision = limiter.check(declared?.rule ?? (principal ? DEFAULT_RULE : ANONYMOUS_RULE), facts);
    if (!isPromise(decision)) return this.apply(decision, http.getResponse<Response>(), request, principal, route);
    return decision.then((decided) => this.apply(decided, http.getResponse<Response>(), request, principal, route));
  }

  /** Sets the RateLimit fields; admits, or reports the refusal and throws it as problem+json. */
  private apply(
    decision: RateLimitDecision,
    response: Response,
    request: Request & { id?: unknown },
    principal: Principal | undefined,
    route: unknown,
  ): true {
    const { headers } = decision;
    response.setHeader('RateLimit-Policy', headers['RateLimit-Policy']);
    if (headers.RateLimit !== undefined) response.setHeader('RateLimit', headers.RateLimit);
    if (decision.allowed) return true;

    const path = request.path;
    if (headers['Retry-After'] !== undefined) response.setHeader('Retry-After', headers['Retry-After']);
    const traceparent = request.headers.traceparent;
    this.rateLimits.reporter.report(decision, {
      tenantId: principal === undefined || principal.tenantId === ALL_TENANTS ? PLATFORM_TENANT : principal.tenantId,
      method: request.method,
      route: typeof route === 'string' ? route : path,
      ...(typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? { traceparent } : {}),
    });
    const instance = request.originalUrl?.split('?')[0] ?? path;
    throw new RateLimitRefusal(
      rateLimitProblem(decision, { instance, ...(typeof request.id === 'string' ? { requestId: request.id } : {}) }),
    );
  }

  private planOf(context: ExecutionContext): RoutePlan {
    const handler = context.getHandler();
    const controller = context.getClass();
    let plans = this.plans.get(controller);
    if (plans === undefined) this.plans.set(controller, (plans = new WeakMap()));
    let plan = plans.get(handler);
    if (plan === undefined) {
      const targets = [handler, controller];
      plan = {
        skip: this.reflector.getAllAndOverride<boolean | undefined>(SKIP_RATE_LIMIT, targets) === true,
        declared: this.reflector.getAllAndOverride<RateLimitDeclaration | undefined>(RATE_LIMIT_RULE, targets),
      };
      plans.set(handler, plan);
    }
    return plan;
  }

  /** A `tier:<name>` scope of the token, else the client's configured tier, else `standard`. */
  private tierOf(principal: Principal): Tier {
    for (const scope of principal.scopes ?? []) {
      const tier = scope.startsWith(TIER_SCOPE) ? scope.slice(TIER_SCOPE.length) : undefined;
      if (tier !== undefined && (TIERS as readonly string[]).includes(tier)) return tier as Tier;
    }
    return (principal.clientId === undefined ? undefined : this.rateLimits.clientTiers.get(principal.clientId)) ?? 'standard';
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
