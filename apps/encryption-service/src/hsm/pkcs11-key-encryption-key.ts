import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError, KeyIntegrityError } from './hsm.errors';
import type { HsmTokenInfo, KeyEncryptionKey } from './key-encryption-key.port';

export const KEK_LABEL = 'traceo-kek-v1';
const IV_LENGTH = 12;
const TAG_BITS = 128;
const TAG_LENGTH = TAG_BITS / 8;

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
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

export interface Pkcs11Options {
  /** Path of the PKCS#11 library: SoftHSM2 in development, AWS CloudHSM's client library in production. */
  modulePath: string;
  tokenLabel: string;
  /** Secret. SoftHSM2: the user PIN; CloudHSM: `<crypto-user>:<password>`. */
  pin: string;
  /**
   * Who chooses the AES-GCM IV when wrapping. `application` (SoftHSM2): a fresh random IV from
   * node:crypto is passed in. `hsm` (AWS CloudHSM, which refuses caller IVs): a zeroed IV buffer is
   * passed and the HSM writes the IV it generated into it; a result whose IV is still all zeros is
   * refused, so an HSM that ignores this never wraps two keys under one IV.
   */
  gcmIvSource?: 'application' | 'hsm';
}

/**
 * One loaded library per module path, shared by every handle in the process: PKCS#11 initialization
 * and the user login belong to the application, not to a session, so the last handle to close
 * finalizes the library.
 */
const libraries = new Map<string, { pkcs11: pkcs11js.PKCS11; handles: number }>();

function acquireLibrary(modulePath: string): pkcs11js.PKCS11 {
  const shared = libraries.get(modulePath);
  if (shared) {
    shared.handles += 1;
    return shared.pkcs11;
  }
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(modulePath);
  try {
    pkcs11.C_Initialize();
  } catch (error) {
    if (returnValue(error) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error;
  }
  libraries.set(modulePath, { pkcs11, handles: 1 });
  return pkcs11;
}

function releaseLibrary(modulePath: string): void {
  const shared = libraries.get(modulePath);
  if (!shared) return;
  shared.handles -= 1;
  if (shared.handles > 0) return;
  libraries.delete(modulePath);
  try {
    shared.pkcs11.C_Finalize();
  } finally {
    shared.pkcs11.close();
  }
}

function returnValue(error: unknown): number | undefined {
  return error instanceof pkcs11js.Pkcs11Error ? error.code : undefined;
}

/** The PKCS#11 function and return value, never arguments: safe to log. */
function describe(error: unknown): string {
  if (error instanceof pkcs11js.Pkcs11Error) return `${error.method || 'PKCS#11'} returned 0x${error.code.toString(16)}`;
  return error instanceof Error ? error.name : 'unknown error';
}

/**
 * A persistent AES-256 key inside a PKCS#11 token (non-extractable, sensitive, private): data keys
 * are wrapped with AES-256-GCM by the HSM, as `iv (12) ‖ ciphertext ‖ tag (16)`. The key bytes never
 * leave the token. The same code runs against SoftHSM2 and AWS CloudHSM; only the options differ.
 */
export class Pkcs11KeyEncryptionKey implements KeyEncryptionKey {
  readonly id = KEK_LABEL;
  private closed = false;

  private constructor(
    private readonly pkcs11: pkcs11js.PKCS11,
    private readonly modulePath: string,
    private readonly session: Buffer,
    private readonly key: Buffer,
    private readonly gcmIvSource: 'application' | 'hsm',
  ) {}

  /** Loads the module, logs in to the token and finds (or, the first time, generates) the KEK. */
  static open(options: Pkcs11Options): Pkcs11KeyEncryptionKey {
    let pkcs11: pkcs11js.PKCS11;
    try {
      pkcs11 = acquireLibrary(options.modulePath);
    } catch (error) {
      throw new HsmUnavailableError(`cannot load the PKCS#11 module: ${describe(error)}`);
    }
    let session: Buffer | undefined;
    try {
      const slot = pkcs11.C_GetSlotList(true).find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === options.tokenLabel);
      if (!slot) throw new HsmUnavailableError(`no PKCS#11 token labelled ${options.tokenLabel}`);
      session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
      try {
        pkcs11.C_Login(session, pkcs11js.CKU_USER, options.pin);
      } catch (error) {
        if (returnValue(error) !== CKR_USER_ALREADY_LOGGED_IN) throw error;
      }
      const key = findKey(pkcs11, session) ?? generateKey(pkcs11, session);
      return new Pkcs11KeyEncryptionKey(pkcs11, options.modulePath, session, key, options.gcmIvSource ?? 'application');
    } catch (error) {
      if (session) pkcs11.C_CloseSession(session);
      releaseLibrary(options.modulePath);
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
    try {
      this.pkcs11.C_CloseSession(this.session);
    } finally {
      releaseLibrary(this.modulePath);
    }
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
