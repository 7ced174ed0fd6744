import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError, KeyIntegrityError } from '@traceo/hsm';
import { KEK_LABEL, Pkcs11KeyEncryptionKey, type Pkcs11Options } from '@traceo/hsm';
import { softHsmOptions } from './encryption-test-runtime';

const CKR_ATTRIBUTE_SENSITIVE = 0x11;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

describe('the PKCS#11 key-encryption key on the SoftHSM2 token', () => {
  let options: Pkcs11Options;
  let kek: Pkcs11KeyEncryptionKey;
  const aad = Buffer.from('tenant-a|customers|1');

  beforeAll(() => {
    options = softHsmOptions();
    kek = Pkcs11KeyEncryptionKey.open(options);
  });

  afterAll(() => kek.close());

  it('wraps a data key and unwraps it back', () => {
    const dataKey = randomBytes(32);
    const wrapped = kek.wrap(dataKey, aad);
    expect(wrapped).toHaveLength(12 + 32 + 16);
    expect(kek.unwrap(wrapped, aad)).toEqual(dataKey);
  });

  it('produces different wrapped bytes each time (fresh IV)', () => {
    const dataKey = randomBytes(32);
    const first = kek.wrap(dataKey, aad);
    const second = kek.wrap(dataKey, aad);
    expect(first.equals(second)).toBe(false);
    expect(first.subarray(0, 12).equals(second.subarray(0, 12))).toBe(false);
  });

  it('with gcmIvSource=hsm (CloudHSM mode), refuses to wrap when the token leaves the IV zero, as SoftHSM2 does', () => {
    const hsmIv = Pkcs11KeyEncryptionKey.open({ ...options, gcmIvSource: 'hsm' });
    try {
      expect(() => hsmIv.wrap(randomBytes(32), aad)).toThrow(HsmUnavailableError);
      expect(() => hsmIv.wrap(randomBytes(32), aad)).toThrow(/did not generate a GCM IV/);
      // Unwrapping is the same in both modes: the IV travels with the wrapped key.
      expect(hsmIv.unwrap(kek.wrap(Buffer.alloc(32, 7), aad), aad)).toEqual(Buffer.alloc(32, 7));
    } finally {
      hsmIv.close();
    }
  });

  it('refuses a tampered wrapped key with CRYPTO.INTEGRITY_CHECK_FAILED', () => {
    const wrapped = kek.wrap(randomBytes(32), aad);
    for (const offset of [0, 20, wrapped.length - 1]) {
      const tampered = Buffer.from(wrapped);
      tampered[offset]! ^= 0x01;
      expect(() => kek.unwrap(tampered, aad)).toThrow(KeyIntegrityError);
    }
    expect(() => kek.unwrap(wrapped.subarray(0, 20), aad)).toThrow(
      expect.objectContaining({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED', status: 422 }),
    );
  });

  it('refuses a wrapped key presented with another aad (another keyring or version)', () => {
    const wrapped = kek.wrap(randomBytes(32), aad);
    expect(() => kek.unwrap(wrapped, Buffer.from('tenant-a|customers|2'))).toThrow(
      expect.objectContaining({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED', status: 422 }),
    );
  });

  it('keeps the key inside the token: sensitive, not extractable, CKA_VALUE unreadable', () => {
    const pkcs11 = new pkcs11js.PKCS11();
    pkcs11.load(options.modulePath);
    try {
      pkcs11.C_Initialize();
    } catch (error) {
      if (!(error instanceof pkcs11js.Pkcs11Error && error.code === CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw error;
    }
    const slot = pkcs11.C_GetSlotList(true).find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === options.tokenLabel);
    if (!slot) throw new Error('token not found');
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      try {
        pkcs11.C_Login(session, pkcs11js.CKU_USER, options.pin);
      } catch (error) {
        if (!(error instanceof pkcs11js.Pkcs11Error && error.code === CKR_USER_ALREADY_LOGGED_IN)) throw error;
      }
      pkcs11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: KEK_LABEL }]);
      const keys = pkcs11.C_FindObjects(session, 10);
      pkcs11.C_FindObjectsFinal(session);
      expect(keys).toHaveLength(1);
      const [extractable, sensitive, token, isPrivate, valueLength] = pkcs11
        .C_GetAttributeValue(session, keys[0]!, [
          { type: pkcs11js.CKA_EXTRACTABLE },
          { type: pkcs11js.CKA_SENSITIVE },
          { type: pkcs11js.CKA_TOKEN },
          { type: pkcs11js.CKA_PRIVATE },
          { type: pkcs11js.CKA_VALUE_LEN },
        ])
        .map((attribute) => attribute.value);
      expect([extractable, sensitive, token, isPrivate]).toEqual([Buffer.of(0), Buffer.of(1), Buffer.of(1), Buffer.of(1)]);
      // CK_ULONG in host byte order (little-endian here).
      expect(valueLength?.readUInt32LE(0)).toBe(32);
      expect(() => pkcs11.C_GetAttributeValue(session, keys[0]!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(
        expect.objectContaining({ code: CKR_ATTRIBUTE_SENSITIVE }),
      );
    } finally {
      pkcs11.C_CloseSession(session);
      pkcs11.close();
    }
  });

  it('is persistent in the token: another handle, and a handle after the library was finalized, unwrap what this one wrapped', () => {
    const dataKey = randomBytes(32);
    const wrapped = kek.wrap(dataKey, aad);
    const second = Pkcs11KeyEncryptionKey.open(options);
    try {
      expect(second.unwrap(wrapped, aad)).toEqual(dataKey);
    } finally {
      second.close();
    }
    kek.close();
    kek = Pkcs11KeyEncryptionKey.open(options);
    expect(kek.unwrap(wrapped, aad)).toEqual(dataKey);
  });

  it('reports a wrong PIN as CRYPTO.HSM_UNAVAILABLE without echoing the PIN', () => {
    // Login belongs to the application, so the only open handle is closed first to log out.
    kek.close();
    try {
      expect(() => Pkcs11KeyEncryptionKey.open({ ...options, pin: 'not-the-pin-1234' })).toThrow(HsmUnavailableError);
      expect(() => Pkcs11KeyEncryptionKey.open({ ...options, pin: 'not-the-pin-1234' })).toThrow(
        expect.not.objectContaining({ message: expect.stringContaining('not-the-pin-1234') }),
      );
    } finally {
      kek = Pkcs11KeyEncryptionKey.open(options);
    }
  });

  it('reports an unknown token as CRYPTO.HSM_UNAVAILABLE (503, retryable)', () => {
    expect(() => Pkcs11KeyEncryptionKey.open({ ...options, tokenLabel: 'no-such-token' })).toThrow(
      expect.objectContaining({ code: 'CRYPTO.HSM_UNAVAILABLE', status: 503, retryable: true }),
    );
  });
});
