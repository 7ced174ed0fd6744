import type { Permission, Role } from './roles';

/** Tenant of a platform-wide principal: allowed on every tenant's routes. */
export const ALL_TENANTS = '*';

/** Who is calling, as established by the auth guard; attached to the request for the handler. */
export interface Principal {
  /** Token `sub`, or the API client id. */
  readonly subject: string;
  /** A tenant id, or `*` (ALL_TENANTS) for platform-wide principals. */
  readonly tenantId: string;
  readonly roles: readonly Role[];
  readonly permissions: ReadonlySet<Permission>;
  readonly via: 'jwt' | 'api-key';
  /** Token `client_id` (RFC 9068), or the API client id. */
  readonly clientId?: string;
  /** Token `scope`, split on spaces; permission names among them narrow the roles' permissions. */
  readonly scopes?: readonly string[];
  /** Token `grant_id`: the auth-service grant it was issued from (user tokens), checked against revocations. */
  readonly grantId?: string;
}
