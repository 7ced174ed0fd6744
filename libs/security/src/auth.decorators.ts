import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { UnauthenticatedError } from './auth.errors';
import type { Principal } from './principal';
import type { Permission } from './roles';

export const PUBLIC_ROUTE = 'traceo:public';
export const REQUIRED_PERMISSIONS = 'traceo:required-permissions';

/** Marks a controller or route that needs no credentials (health, metrics, service info). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/**
 * Permissions the caller must hold, all of them, through its roles. On a controller it applies to
 * every route; a route's own declaration replaces the controller's. `@RequirePermissions()` with
 * none declares the route open to any authenticated principal. A route that declares nothing is
 * refused to token principals and open only to the interim API keys (see docs/security.md).
 */
export const RequirePermissions = (...permissions: Permission[]) => SetMetadata(REQUIRED_PERMISSIONS, Object.freeze([...permissions]));

/** The principal the auth guard attached to this request, if any. */
export function principalOfRequest(request: object): Principal | undefined {
  return (request as { principal?: Principal }).principal;
}

/** Handler parameter: the authenticated caller. Refuses with 401 on a route that authenticated nobody (a @Public() one). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = principalOfRequest(context.switchToHttp().getRequest<object>());
  if (!principal) throw new UnauthenticatedError('this endpoint needs credentials');
  return principal;
});
