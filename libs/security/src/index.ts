export { apiKeyPrincipal, apiKeySecrets, parseApiKeys, type ApiClient } from './api-keys';
export { CurrentPrincipal, principalOfRequest, Public, PUBLIC_ROUTE, REQUIRED_PERMISSIONS, RequirePermissions } from './auth.decorators';
export { ForbiddenError, InvalidTokenError, SigningKeysUnavailableError, TenantMismatchError, UnauthenticatedError } from './auth.errors';
export { AUTH_GUARD_OPTIONS, AuthGuard, type AuthGuardOptions } from './auth.guard';
export { verifyJwsSignature, type JwsSignatureAlgorithm } from './jws-signature';
export { ACCESS_TOKEN_ALGORITHMS, assertPublicJwks, InvalidJwksError, jwksUrlProblem, looksLikeJwt, parsePublicJwks } from './jwt-keys';
export { ALL_TENANTS, auditActorOf, type AuditActor, type Principal } from './principal';
export {
  effectivePermissions,
  isPermission,
  isRole,
  knownRoles,
  PERMISSIONS,
  permissionsOf,
  ROLE_PERMISSIONS,
  ROLES,
  type Permission,
  type Role,
} from './roles';
export { RevokedGrants, type RevokedGrantsView } from './revoked-grants';
export { TokenVerifier, type SigningKeySource, type TokenRefusal, type TokenVerifierOptions } from './token-verifier';
