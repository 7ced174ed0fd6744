import { TraceoError } from '@traceo/contracts';

/** The HSM could not be reached or refused an operation it should accept; retrying may succeed. */
export class HsmUnavailableError extends TraceoError {
  readonly code = 'CRYPTO.HSM_UNAVAILABLE';
  readonly status = 503;
  override readonly retryable = true;
}

/** A wrapped key did not authenticate: tampered bytes, another aad, or another KEK. */
export class KeyIntegrityError extends TraceoError {
  readonly code = 'CRYPTO.INTEGRITY_CHECK_FAILED';
  readonly status = 422;
}
