import type { Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AUTH_GUARD_OPTIONS, AuthGuard, parseApiKeys, RevokedGrants, TokenVerifier, type AuthGuardOptions } from '@traceo/security';
import type { BaseConfig } from './config';
import { RevokedGrantsListener } from './revoked-grants.listener';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

/**
 * The auth guard's settings from validated configuration: API keys always, JWT verification when
 * configured, refusing tokens of the grants in `revokedGrants` (RevokedGrantsListener fills it).
 */
export function authGuardOptions(config: BaseConfig, revokedGrants?: RevokedGrants): AuthGuardOptions {
  const apiKeys = parseApiKeys(config.TRACEO_API_KEYS);
  const { TRACEO_JWT_ISSUER: issuer, TRACEO_JWT_AUDIENCE: audience, TRACEO_JWT_JWKS: jwks, TRACEO_JWT_JWKS_URL: jwksUrl } = config;
  const keys = jwks ? { jwks } : jwksUrl ? { jwksUrl } : undefined;
  if (!issuer || !audience || !keys) return { apiKeys };
  return { apiKeys, tokenVerifier: new TokenVerifier({ issuer, audience, keys, ...(revokedGrants ? { revokedGrants } : {}) }) };
}

/** The global AuthGuard (deny by default) with its options taken from the service runtime's configuration. */
export const AUTH_PROVIDERS: Provider[] = [
  { provide: RevokedGrants, useFactory: () => new RevokedGrants() },
  {
    provide: AUTH_GUARD_OPTIONS,
    useFactory: (runtime: ServiceRuntime, revoked: RevokedGrants) => authGuardOptions(runtime.config, revoked),
    inject: [SERVICE_RUNTIME, RevokedGrants],
  },
  RevokedGrantsListener,
  { provide: APP_GUARD, useClass: AuthGuard },
];
