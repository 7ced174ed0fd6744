import { createHash, timingSafeEqual } from 'node:crypto';
import { ALL_TENANTS, type Principal } from './principal';
import { permissionsOf, type Role } from './roles';

export interface ApiClient {
  readonly id: string;
  readonly secretDigest: Buffer;
}

/** Parses TRACEO_API_KEYS (`client-id:secret[,client-id:secret…]`); only digests are kept in memory. */
export function parseApiKeys(value: string): ApiClient[] {
  return value.split(',').map((pair) => {
    const separator = pair.indexOf(':');
    return { id: pair.slice(0, separator).trim(), secretDigest: digest(pair.slice(separator + 1).trim()) };
  });
}

/** The secret of every pair in a TRACEO_API_KEYS value. */
export function apiKeySecrets(value: string): string[] {
  return value.split(',').map((pair) => pair.slice(pair.indexOf(':') + 1).trim());
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

const SERVICE_ROLES: readonly Role[] = Object.freeze(['service'] as const);

/**
 * The presented key is compared with every configured key in constant time (digests of equal
 * length, no early exit). An API client is an interim machine credential: role `service`, every tenant.
 */
export function apiKeyPrincipal(clients: readonly ApiClient[], presented: string): Principal | undefined {
  const presentedDigest = digest(presented);
  let found: string | undefined;
  for (const client of clients) if (timingSafeEqual(presentedDigest, client.secretDigest) && found === undefined) found = client.id;
  if (found === undefined) return undefined;
  return {
    subject: found,
    clientId: found,
    tenantId: ALL_TENANTS,
    roles: SERVICE_ROLES,
    permissions: permissionsOf(SERVICE_ROLES),
    via: 'api-key',
  };
}
