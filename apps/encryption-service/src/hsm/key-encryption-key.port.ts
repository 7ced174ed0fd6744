/**
 * The root of the key hierarchy: a key that lives in an HSM and only ever wraps and unwraps data keys.
 * `wrap` binds `aad` (the data key's tenant, keyring and version) so a wrapped key cannot be moved
 * to another keyring or version. Failures are `HsmUnavailableError` or `KeyIntegrityError`.
 */
export interface KeyEncryptionKey {
  /** Stored beside every wrapped key, so a later KEK version can tell which key wrapped it. */
  readonly id: string;
  wrap(dataKey: Buffer, aad: Buffer): Buffer;
  unwrap(wrapped: Buffer, aad: Buffer): Buffer;
  close(): void;
}

export const KEY_ENCRYPTION_KEY = Symbol('KEY_ENCRYPTION_KEY');
