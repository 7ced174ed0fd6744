import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError, KeyIntegrityError } from './hsm.errors';
import type { HsmTokenInfo, KeyEncryptionKey } from './key-encryption-key.port';
import { describe, openTokenSession, returnValue, type Pkcs11Options, type TokenSession } from './pkcs11-library';

export type { Pkcs11Options } from './pkcs11-library';

export const KEK_LABEL = 'traceo-kek-v1';
const IV_LENGTH = 12;
const TAG_BITS = 128;
const TAG_LENGTH = TAG_BITS / 8;

/** Return values meaning "these bytes do not authenticate", as opposed to "the HSM failed". */
const INTEGRITY_FAILURES = new Set([
  0x20, // CKR_DATA_INVALID
  0x21, // CKR_DATA_LEN_RANGE
  0x40, // CKR_ENCRYPTED_DATA_INVALID
  0x41, // CKR_ENCRYPTED_DATA_LEN_RANGE
  // SoftHSM2 answers a GCM tag mismatch with CKR_GENERAL_ERROR. It is only read this way from C_Decrypt
  // after C_DecryptInit accepted the key and mechanism, i.e. when the token is demonstrably working.
  0x05, // CKR_GENERAL_ERROR
]);

/**
 * A persistent AES-256 key inside a PKCS#11 token (non-extractable, sensitive, private): data keys
 * are wrapped with AES-256-GCM by the HSM, as `iv (12) ‖ ciphertext ‖ tag (16)`. The key bytes never
 * leave the token. The same code runs against SoftHSM2 and AWS CloudHSM; only the options differ.
 */
export class Pkcs11KeyEncryptionKey implements KeyEncryptionKey {
  readonly id = KEK_LABEL;
  private closed = false;

  private readonly pkcs11: pkcs11js.PKCS11;
  private readonly session: Buffer;

  private constructor(
    private readonly token: TokenSession,
    private readonly key: Buffer,
    private readonly gcmIvSource: 'application' | 'hsm',
  ) {
    this.pkcs11 = token.pkcs11;
    this.session = token.session;
  }

  /** Loads the module, logs in to the token and finds (or, the first time, generates) the KEK. */
  static open(options: Pkcs11Options): Pkcs11KeyEncryptionKey {
    const token = openTokenSession(options);
    try {
      const key = findKey(token.pkcs11, token.session) ?? generateKey(token.pkcs11, token.session);
      return new Pkcs11KeyEncryptionKey(token, key, options.gcmIvSource ?? 'application');
    } catch (error) {
      token.close();
      if (error instanceof HsmUnavailableError) throw error;
      throw new HsmUnavailableError(`cannot open the key-encryption key: ${describe(error)}`);
    }
  }

  wrap(dataKey: Buffer, aad: Buffer): Buffer {
    // pkcs11js hands the library this buffer's own memory, so an HSM-generated IV is written back into it.
    const iv = this.gcmIvSource === 'hsm' ? Buffer.alloc(IV_LENGTH) : randomBytes(IV_LENGTH);
    let sealed: Buffer;
    try {
      this.pkcs11.C_EncryptInit(this.session, this.mechanism(iv, aad), this.key);
      sealed = this.pkcs11.C_Encrypt(this.session, dataKey, Buffer.alloc(dataKey.length + TAG_LENGTH));
    } catch (error) {
      throw new HsmUnavailableError(`the HSM could not wrap a data key: ${describe(error)}`);
    }
    if (this.gcmIvSource === 'hsm' && iv.every((byte) => byte === 0)) {
      throw new HsmUnavailableError(
        'the HSM did not generate a GCM IV (TRACEO_PKCS11_GCM_IV_SOURCE=hsm needs an HSM that writes its IV back)',
      );
    }
    return Buffer.concat([iv, sealed]);
  }

  unwrap(wrapped: Buffer, aad: Buffer): Buffer {
    if (wrapped.length < IV_LENGTH + TAG_LENGTH) throw new KeyIntegrityError('the wrapped key is truncated');
    const iv = wrapped.subarray(0, IV_LENGTH);
    const sealed = wrapped.subarray(IV_LENGTH);
    try {
      this.pkcs11.C_DecryptInit(this.session, this.mechanism(iv, aad), this.key);
    } catch (error) {
      throw new HsmUnavailableError(`the HSM could not unwrap a data key: ${describe(error)}`);
    }
    try {
      // Some tokens want room for the whole input, tag included, before they check the tag.
      return Buffer.from(this.pkcs11.C_Decrypt(this.session, sealed, Buffer.alloc(sealed.length)));
    } catch (error) {
      const code = returnValue(error);
      if (code !== undefined && INTEGRITY_FAILURES.has(code)) throw new KeyIntegrityError('the wrapped key did not authenticate');
      throw new HsmUnavailableError(`the HSM could not unwrap a data key: ${describe(error)}`);
    }
  }

  /** C_GetTokenInfo for the slot of this handle's session: read-only, no login state changes. */
  tokenInfo(): HsmTokenInfo {
    if (this.closed) throw new HsmUnavailableError('the key-encryption key is closed');
    try {
      const info = this.pkcs11.C_GetTokenInfo(this.pkcs11.C_GetSessionInfo(this.session).slotID);
      const version = ({ major, minor }: pkcs11js.Version) => `${major}.${minor}`;
      return {
        label: info.label.trim(),
        manufacturer: info.manufacturerID.trim(),
        model: info.model.trim(),
        serialNumber: info.serialNumber.trim(),
        hardwareVersion: version(info.hardwareVersion),
        firmwareVersion: version(info.firmwareVersion),
      };
    } catch (error) {
      throw new HsmUnavailableError(`cannot read the PKCS#11 token: ${describe(error)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.token.close();
  }

  private mechanism(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
    const parameter: pkcs11js.GcmParams = { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: IV_LENGTH * 8, aad, tagBits: TAG_BITS };
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
  }
}

function findKey(pkcs11: pkcs11js.PKCS11, session: Buffer): Buffer | undefined {
  pkcs11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: KEK_LABEL },
  ]);
  try {
    return pkcs11.C_FindObjects(session) ?? undefined;
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

function generateKey(pkcs11: pkcs11js.PKCS11, session: Buffer): Buffer {
  return pkcs11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_LABEL, value: KEK_LABEL },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
  ]);
}
