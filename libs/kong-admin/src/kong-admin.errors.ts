export type KongAdminErrorCode =
  | 'KONG_ADMIN.INVALID_INPUT'
  | 'KONG_ADMIN.UNREACHABLE'
  | 'KONG_ADMIN.UNAUTHORIZED'
  | 'KONG_ADMIN.NOT_FOUND'
  | 'KONG_ADMIN.CONFLICT'
  | 'KONG_ADMIN.READ_ONLY'
  | 'KONG_ADMIN.REJECTED'
  | 'KONG_ADMIN.UNEXPECTED_RESPONSE';

/**
 * A failed Admin API call. `message` carries Kong's own error message (entity names and field
 * errors, never credentials: the client sends none in bodies it would echo).
 */
export class KongAdminError extends Error {
  constructor(
    readonly code: KongAdminErrorCode,
    message: string,
    /** HTTP status Kong answered with, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KongAdminError';
  }
}

/** Maps an Admin API status to a code. 405 is what DB-less Kong answers to every write. */
export function codeForStatus(status: number): KongAdminErrorCode {
  if (status === 400) return 'KONG_ADMIN.INVALID_INPUT';
  if (status === 401 || status === 403) return 'KONG_ADMIN.UNAUTHORIZED';
  if (status === 404) return 'KONG_ADMIN.NOT_FOUND';
  if (status === 409) return 'KONG_ADMIN.CONFLICT';
  if (status === 405) return 'KONG_ADMIN.READ_ONLY';
  return 'KONG_ADMIN.REJECTED';
}
