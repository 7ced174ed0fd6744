import { TraceoError } from '@traceo/contracts';

/** No credentials, or credentials that do not authenticate anyone. Messages stay coarse on purpose. */
export class UnauthenticatedError extends TraceoError {
  readonly code = 'AUTH.UNAUTHENTICATED';
  readonly status = 401;
}

/** A bearer credential was presented and refused (RFC 6750 `invalid_token`). */
export class InvalidTokenError extends UnauthenticatedError {}

/** Authenticated, but a permission the route requires is not granted by any of the caller's roles. */
export class ForbiddenError extends TraceoError {
  readonly code = 'AUTH.FORBIDDEN';
  readonly status = 403;
}

/** Authenticated and permitted, but bound to another tenant than the one in the path. */
export class TenantMismatchError extends TraceoError {
  readonly code = 'AUTH.TENANT_MISMATCH';
  readonly status = 403;
}

/** The token-signing keys could not be fetched (JWKS endpoint down or slow): retry later. */
export class SigningKeysUnavailableError extends TraceoError {
  readonly code = 'AUTH.KEYS_UNAVAILABLE';
  readonly status = 503;
  override readonly retryable = true;
}
