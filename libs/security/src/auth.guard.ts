import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { apiKeyPrincipal, type ApiClient } from './api-keys';
import { PUBLIC_ROUTE, REQUIRED_PERMISSIONS } from './auth.decorators';
import { ForbiddenError, InvalidTokenError, TenantMismatchError, UnauthenticatedError } from './auth.errors';
import { looksLikeJwt } from './jwt-keys';
import { ALL_TENANTS, type Principal } from './principal';
import type { Permission } from './roles';
import type { TokenVerifier } from './token-verifier';

export interface AuthGuardOptions {
  /** TRACEO_API_KEYS, parsed: interim machine credentials (role `service`, every tenant). */
  readonly apiKeys: readonly ApiClient[];
  /** Present when JWT access tokens are configured. */
  readonly tokenVerifier?: TokenVerifier;
}

export const AUTH_GUARD_OPTIONS = Symbol('AUTH_GUARD_OPTIONS');

type AuthenticatedRequest = Request & { principal?: Principal; apiClientId?: string };

const BEARER = /^Bearer ([\x21-\x7e]{1,8192})$/i;

/**
 * The one global guard. Deny by default: a route not marked @Public() needs
 * `Authorization: Bearer <credential>`, where the credential is a signed JWT access token (when
 * configured) or an API key. Then the route's @RequirePermissions() and, for a `:tenantId` path
 * parameter, the principal's tenant are checked. Refusals are TraceoErrors, rendered as
 * problem+json and audited as `denied` by the HTTP audit middleware like any 401/403.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('AuthGuard');

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_GUARD_OPTIONS) private readonly options: AuthGuardOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    try {
      const principal = await this.authenticate(request.headers.authorization);
      request.principal = principal;
      // The HTTP audit middleware records this as the actor of the call (a 403 included).
      request.apiClientId = principal.subject;
      authorize(
        principal,
        this.reflector.getAllAndOverride<readonly Permission[] | undefined>(REQUIRED_PERMISSIONS, targets),
        request.params,
      );
      return true;
    } catch (error) {
      const challenge = challengeFor(error);
      if (challenge) response.setHeader('WWW-Authenticate', challenge);
      if (error instanceof InvalidTokenError) this.logger.debug(`bearer credential refused (${String(error.details?.['reason'])})`);
      throw error;
    }
  }

  private async authenticate(authorization: string | undefined): Promise<Principal> {
    const credential = BEARER.exec(authorization ?? '')?.[1];
    if (credential === undefined)
      throw new UnauthenticatedError('this endpoint needs credentials (Authorization: Bearer <access token or API key>)');
    const { tokenVerifier, apiKeys } = this.options;
    if (tokenVerifier && looksLikeJwt(credential)) return tokenVerifier.verify(credential);
    const principal = apiKeyPrincipal(apiKeys, credential);
    if (!principal) throw new InvalidTokenError('the bearer credential is not valid', { reason: 'api-key' });
    return principal;
  }
}

/** Permissions first, then the tenant in the path. A route that declares no permissions is for API keys only. */
function authorize(principal: Principal, required: readonly Permission[] | undefined, params: Record<string, unknown> | undefined): void {
  const permitted =
    required === undefined ? principal.via === 'api-key' : required.every((permission) => principal.permissions.has(permission));
  if (!permitted) throw new ForbiddenError('the caller is not permitted to perform this operation');
  const tenantId = params?.['tenantId'];
  if (tenantId !== undefined && principal.tenantId !== ALL_TENANTS && tenantId !== principal.tenantId)
    throw new TenantMismatchError('the caller may not act on this tenant');
}

/** RFC 6750 §3 challenge for a 401 or 403; none for other failures (signing keys unavailable). */
function challengeFor(error: unknown): string | undefined {
  if (error instanceof InvalidTokenError) return 'Bearer error="invalid_token"';
  if (error instanceof UnauthenticatedError) return 'Bearer';
  if (error instanceof ForbiddenError || error instanceof TenantMismatchError) return 'Bearer error="insufficient_scope"';
  return undefined;
}
