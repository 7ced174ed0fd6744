import { TraceoError } from '@traceo/contracts';
import type { CryptoErrorCode } from '@traceo/crypto';

export class KeyringExistsError extends TraceoError {
  readonly code = 'CRYPTO.KEYRING_EXISTS';
  readonly status = 409;
}

export class KeyringNotFoundError extends TraceoError {
  readonly code = 'CRYPTO.KEYRING_NOT_FOUND';
  readonly status = 404;
}

export type DecryptionFailureCode = CryptoErrorCode | 'CRYPTO.KEY_VERSION_NOT_FOUND';

/** A ciphertext that cannot be opened here as it is; the code says why, the message never carries data. */
export class DecryptionFailedError extends TraceoError {
  readonly status = 422;

  constructor(
    readonly code: DecryptionFailureCode,
    message: string,
  ) {
    super(message);
  }
}

/** Input libs/crypto refuses to seal (for instance a name it cannot encode). */
export class EncryptionRejectedError extends TraceoError {
  readonly status = 422;

  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}
