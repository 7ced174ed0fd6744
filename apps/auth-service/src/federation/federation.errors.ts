/** Stable codes of refused federated sign-ins (audit `resultCode`, shown on the error page). */
export type FederationErrorCode =
  | 'AUTH.FEDERATION_UNKNOWN_IDP'
  | 'AUTH.FEDERATION_STATE_INVALID'
  | 'AUTH.FEDERATION_REPLAYED'
  | 'AUTH.FEDERATION_EXPIRED'
  | 'AUTH.FEDERATION_UPSTREAM_ERROR'
  | 'AUTH.FEDERATION_UPSTREAM_UNAVAILABLE'
  | 'AUTH.FEDERATION_TOKEN_INVALID'
  | 'AUTH.ACCOUNT_DISABLED'
  | 'AUTH.FEDERATION_NOT_COMPLETED';

const MESSAGES: Readonly<Record<FederationErrorCode, string>> = {
  'AUTH.FEDERATION_UNKNOWN_IDP': 'This identity provider is not available for this application.',
  'AUTH.FEDERATION_STATE_INVALID': 'This sign-in response does not belong to a sign-in in progress.',
  'AUTH.FEDERATION_REPLAYED': 'This sign-in response was already used.',
  'AUTH.FEDERATION_EXPIRED': 'The sign-in took too long. Start again.',
  'AUTH.FEDERATION_UPSTREAM_ERROR': 'The identity provider did not sign you in.',
  'AUTH.FEDERATION_UPSTREAM_UNAVAILABLE': 'The identity provider cannot be reached. Try again later.',
  'AUTH.FEDERATION_TOKEN_INVALID': 'The identity provider’s answer could not be verified.',
  'AUTH.ACCOUNT_DISABLED': 'This account is disabled.',
  'AUTH.FEDERATION_NOT_COMPLETED': 'Sign in with the identity provider first.',
};

const STATUS: Readonly<Record<FederationErrorCode, number>> = {
  'AUTH.FEDERATION_UNKNOWN_IDP': 404,
  'AUTH.FEDERATION_STATE_INVALID': 400,
  'AUTH.FEDERATION_REPLAYED': 400,
  'AUTH.FEDERATION_EXPIRED': 400,
  'AUTH.FEDERATION_UPSTREAM_ERROR': 401,
  'AUTH.FEDERATION_UPSTREAM_UNAVAILABLE': 502,
  'AUTH.FEDERATION_TOKEN_INVALID': 401,
  'AUTH.ACCOUNT_DISABLED': 403,
  'AUTH.FEDERATION_NOT_COMPLETED': 400,
};

/** A refused federated sign-in. The message is safe to show; nothing of the upstream's answer is in it. */
export class FederationError extends Error {
  readonly status: number;

  constructor(readonly code: FederationErrorCode) {
    super(MESSAGES[code]);
    this.name = 'FederationError';
    this.status = STATUS[code];
  }
}
