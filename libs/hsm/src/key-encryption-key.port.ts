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
  /**
   * Read-only facts about the token that holds the key, for the HSM control-plane report. Optional so
   * stand-ins without a token need not invent one. Throws `HsmUnavailableError` when the token cannot be read.
   */
  tokenInfo?(): HsmTokenInfo;
}

/** What C_GetTokenInfo says about the token (blank padding removed). Contains no secrets. */
export interface HsmTokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  /** `major.minor` */
  hardwareVersion: string;
  /** `major.minor` */
  firmwareVersion: string;
}

export const KEY_ENCRYPTION_KEY = Symbol('KEY_ENCRYPTION_KEY');
