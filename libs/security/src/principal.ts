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

/** A caller as an audit record's actor. */
export interface AuditActor {
  readonly type: 'user' | 'service' | 'api-client';
  readonly id: string;
}

/**
 * The actor to record for what a principal did: an API key is an api-client (its client id); a token
 * is a service when it carries the `service` role, else a user (its subject, cut to the 256 characters
 * an audit record's actor id takes).
 */
export function auditActorOf(principal: Principal): AuditActor {
  if (principal.via === 'api-key') return { type: 'api-client', id: principal.subject.slice(0, 256) };
  return { type: principal.roles.includes('service') ? 'service' : 'user', id: principal.subject.slice(0, 256) };
}
