import { TraceoError } from '@traceo/contracts';

export class KeyringExistsError extends TraceoError {
  readonly code = 'CRYPTO.KEYRING_EXISTS';
  readonly status = 409;
}

export class KeyringNotFoundError extends TraceoError {
  readonly code = 'CRYPTO.KEYRING_NOT_FOUND';
  readonly status = 404;
}

/** The operation does not apply to this keyring's purpose (e.g. encrypting with a blind-index keyring). */
export class KeyringPurposeMismatchError extends TraceoError {
  readonly code = 'CRYPTO.KEYRING_PURPOSE_MISMATCH';
  readonly status = 409;
}

export class KeyVersionNotFoundError extends TraceoError {
  readonly code = 'CRYPTO.KEY_VERSION_NOT_FOUND';
  readonly status = 404;
}

/** Retiring or destroying a version that ciphertexts may still depend on. */
export class KeyVersionInUseError extends TraceoError {
  readonly code = 'CRYPTO.KEY_VERSION_IN_USE';
  readonly status = 409;
}

/** A lifecycle step that the version's state does not allow (e.g. retiring the active version). */
export class KeyVersionStateError extends TraceoError {
  readonly code = 'CRYPTO.KEY_VERSION_STATE_CONFLICT';
  readonly status = 409;
}

/** A policy change that cannot hold (e.g. a minimum decryption version above the active one). */
export class InvalidKeyPolicyError extends TraceoError {
  readonly code = 'CRYPTO.INVALID_KEY_POLICY';
  readonly status = 422;
}

/**
 * Why one field of a batch could not be processed. These codes are stable and documented in
 * docs/encryption.md. A commitment mismatch and a failed GCM tag are both INTEGRITY_CHECK_FAILED:
 * the caller learns that the bytes do not open here, not which check said so (the audit record keeps
 * the finer reason for investigators).
 */
export type FieldFailureCode =
  | 'CRYPTO.MALFORMED_BASE64'
  | 'CRYPTO.INPUT_TOO_LARGE'
  | 'CRYPTO.BAD_INPUT'
  | 'CRYPTO.UNSUPPORTED_FORMAT'
  | 'CRYPTO.WRONG_KEYRING'
  | 'CRYPTO.KEY_VERSION_NOT_FOUND'
  | 'CRYPTO.KEY_VERSION_BELOW_MINIMUM'
  | 'CRYPTO.KEY_RETIRED'
  | 'CRYPTO.KEY_DESTROYED'
  | 'CRYPTO.INTEGRITY_CHECK_FAILED';

export const FIELD_FAILURE_STATUS: Readonly<Record<FieldFailureCode, number>> = {
  'CRYPTO.MALFORMED_BASE64': 400,
  'CRYPTO.INPUT_TOO_LARGE': 413,
  'CRYPTO.BAD_INPUT': 400,
  'CRYPTO.UNSUPPORTED_FORMAT': 422,
  'CRYPTO.WRONG_KEYRING': 422,
  'CRYPTO.KEY_VERSION_NOT_FOUND': 422,
  'CRYPTO.KEY_VERSION_BELOW_MINIMUM': 422,
  'CRYPTO.KEY_RETIRED': 422,
  'CRYPTO.KEY_DESTROYED': 410,
  'CRYPTO.INTEGRITY_CHECK_FAILED': 422,
};

export class FieldFailure extends Error {
  constructor(
    readonly code: FieldFailureCode,
    message: string,
    /** Finer reason for the audit record only (never shown to the caller). */
    readonly auditReason?: string,
  ) {
    super(message);
  }
}

/** Every field of a batch failed: one problem+json listing each field's code. */
export class BatchFailedError extends TraceoError {
  readonly status: number;
  readonly code: string;

  constructor(failures: readonly { index: number; code: FieldFailureCode; message: string }[]) {
    const codes = new Set(failures.map((f) => f.code));
    const only = codes.size === 1 ? failures[0]!.code : undefined;
    super(only && failures.length === 1 ? failures[0]!.message : `no field of the batch could be processed`, {
      issues: failures.map((f) => `fields[${f.index}]: ${f.code}: ${f.message}`),
    });
    this.code = only ?? 'CRYPTO.BATCH_FAILED';
    this.status = only ? FIELD_FAILURE_STATUS[only] : 422;
  }
}
