import type { Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AUTH_GUARD_OPTIONS, AuthGuard, parseApiKeys, TokenVerifier, type AuthGuardOptions } from '@traceo/security';
import type { BaseConfig } from './config';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

/** The auth guard's settings from validated configuration: API keys always, JWT verification when configured. */
export function authGuardOptions(config: BaseConfig): AuthGuardOptions {
  const apiKeys = parseApiKeys(config.TRACEO_API_KEYS);
  const { TRACEO_JWT_ISSUER: issuer, TRACEO_JWT_AUDIENCE: audience, TRACEO_JWT_JWKS: jwks, TRACEO_JWT_JWKS_URL: jwksUrl } = config;
  const keys = jwks ? { jwks } : jwksUrl ? { jwksUrl } : undefined;
  if (!issuer || !audience || !keys) return { apiKeys };
  return { apiKeys, tokenVerifier: new TokenVerifier({ issuer, audience, keys }) };
}

/** The global AuthGuard (deny by default) with its options taken from the service runtime's configuration. */
export const AUTH_PROVIDERS: Provider[] = [
  { provide: AUTH_GUARD_OPTIONS, useFactory: (runtime: ServiceRuntime) => authGuardOptions(runtime.config), inject: [SERVICE_RUNTIME] },
  { provide: APP_GUARD, useClass: AuthGuard },
];
