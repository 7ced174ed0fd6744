import { randomBytes } from 'node:crypto';

import { twoKeyGcmForgery } from '../test/gcm-two-key-forgery';
import { thrownBy } from '../test/wycheproof';
import { deriveMessageKeys } from './aead';
import { deriveFieldKeys } from './field-keys';
import {
  aesGcmDecrypt,
  CryptoError,
  decryptField,
  encodeContext,
  encryptField,
  forgetDataKey,
  readCiphertextHeader,
  type CryptoErrorCode,
  type DataKey,
  type EncryptionContext,
} from './index';

const context: EncryptionContext = { tenant: 'tenant-1', keyring: 'customers', field: 'email', recordId: 'c0ffee' };
const dataKey: DataKey = { id: 'customers-dek', version: 7, material: randomBytes(32) };
const plaintext = Buffer.from('alice@example.com');
const HEADER_LENGTH = 3 + dataKey.id.length + 4 + 12 + 32;

function codeOf(operation: () => unknown): CryptoErrorCode | undefined {
  const error = thrownBy(operation);
  if (error === undefined) return undefined;
  expect(error).toBeInstanceOf(CryptoError);
  return (error as CryptoError).code;
}

describe('field encryption (AES-256-GCM with key commitment)', () => {
  it('round-trips, including an empty and a large plaintext', () => {
    for (const value of [plaintext, Buffer.alloc(0), randomBytes(1 << 20)]) {
      // Buffer#equals: Jest's recursive toEqual takes seconds on a megabyte.
      expect(decryptField(encryptField(value, context, dataKey), context, dataKey).equals(value)).toBe(true);
    }
  });

  it('writes the documented layout and a readable key reference', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    expect(sealed.length).toBe(HEADER_LENGTH + plaintext.length + 16);
    expect([sealed[0], sealed[1], sealed[2]]).toEqual([0x02, 0x01, dataKey.id.length]);
    expect(sealed.subarray(3, 3 + dataKey.id.length).toString()).toBe(dataKey.id);
    expect(sealed.readUInt32BE(3 + dataKey.id.length)).toBe(7);
    expect(readCiphertextHeader(sealed)).toEqual({
      formatVersion: 2,
      algorithm: 'AES-256-GCM/HKDF-SHA256',
      keyId: dataKey.id,
      keyVersion: 7,
    });
  });

  it('uses a fresh nonce for every encryption', () => {
    expect(encryptField(plaintext, context, dataKey)).not.toEqual(encryptField(plaintext, context, dataKey));
  });

  it('detects a change to any byte, and says which check caught it', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i]! ^= 0x01;
      // version, algorithm and key id length decide how the rest parses (version 1 is the legacy
      // format, whose checks then fail); the key reference and commitment decide which key is checked;
      // the nonce, body and tag are covered by GCM.
      const nonceStart = HEADER_LENGTH - 44;
      const expected: CryptoErrorCode[] =
        i < 2
          ? ['CRYPTO.UNSUPPORTED_FORMAT', 'CRYPTO.KEY_COMMITMENT_MISMATCH']
          : i === 2
            ? ['CRYPTO.UNSUPPORTED_FORMAT', 'CRYPTO.KEY_COMMITMENT_MISMATCH']
            : i >= nonceStart && i < nonceStart + 12
              ? ['CRYPTO.INTEGRITY_CHECK_FAILED']
              : i < HEADER_LENGTH
                ? ['CRYPTO.KEY_COMMITMENT_MISMATCH']
                : ['CRYPTO.INTEGRITY_CHECK_FAILED'];
      expect(expected).toContain(codeOf(() => decryptField(tampered, context, dataKey)));
    }
  });

  it('refuses every truncation', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    for (let length = 0; length < sealed.length; length++) {
      expect(['CRYPTO.UNSUPPORTED_FORMAT', 'CRYPTO.INTEGRITY_CHECK_FAILED']).toContain(
        codeOf(() => decryptField(sealed.subarray(0, length), context, dataKey)),
      );
    }
  });

  it.each(['tenant', 'keyring', 'field', 'recordId'] as const)('fails when the %s differs', (name) => {
    const sealed = encryptField(plaintext, context, dataKey);
    expect(codeOf(() => decryptField(sealed, { ...context, [name]: `${context[name]}x` }, dataKey))).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
  });

  it('encodes contexts unambiguously', () => {
    const shifted = { ...context, tenant: 'tenant-1c', keyring: 'ustomers' };
    expect(encodeContext(shifted)).not.toEqual(encodeContext(context));
    expect(codeOf(() => decryptField(encryptField(plaintext, context, dataKey), shifted, dataKey))).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
  });

  it('fails under another key, before any decryption', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    expect(codeOf(() => decryptField(sealed, context, { ...dataKey, material: randomBytes(32) }))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
    expect(codeOf(() => decryptField(sealed, context, { ...dataKey, version: 8 }))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
    expect(codeOf(() => decryptField(sealed, context, { ...dataKey, id: 'other' }))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
  });

  it('rejects a ciphertext crafted to decrypt under two keys', () => {
    const otherKey: DataKey = { ...dataKey, material: randomBytes(32) };
    const sealed = encryptField(Buffer.alloc(16), context, dataKey);
    const header = sealed.subarray(0, HEADER_LENGTH);
    const nonce = header.subarray(HEADER_LENGTH - 44, HEADER_LENGTH - 32);
    const aad = Buffer.concat([header, encodeContext(context)]);
    const key1 = deriveFieldKeys(dataKey.material, context).encryptionKey.export();
    const key2 = deriveFieldKeys(otherKey.material, context).encryptionKey.export();
    const { ciphertext, tag } = twoKeyGcmForgery(key1, key2, nonce, aad);

    // Plain GCM opens the forgery under both keys, to two different plaintexts...
    const opened1 = aesGcmDecrypt(key1, nonce, aad, ciphertext, tag);
    const opened2 = aesGcmDecrypt(key2, nonce, aad, ciphertext, tag);
    expect(opened1).not.toEqual(opened2);
    // ...the committed format opens it under the key the header commits to, and only that one.
    const forged = Buffer.concat([header, ciphertext, tag]);
    expect(decryptField(forged, context, dataKey)).toEqual(opened1);
    expect(codeOf(() => decryptField(forged, context, otherKey))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
  });

  it('refuses unknown versions and algorithms as UNSUPPORTED_FORMAT', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    for (const [offset, value] of [
      [0, 0x00],
      [0, 0x03],
      [1, 0x02],
    ]) {
      const changed = Buffer.from(sealed);
      changed[offset!] = value!;
      expect(codeOf(() => readCiphertextHeader(changed))).toBe('CRYPTO.UNSUPPORTED_FORMAT');
    }
  });

  it.each([
    ['a 16-byte data key', { ...dataKey, material: randomBytes(16) }, context],
    ['an empty key id', { ...dataKey, id: '' }, context],
    ['a negative key version', { ...dataKey, version: -1 }, context],
    ['an empty context field', dataKey, { ...context, field: '' }],
    ['a lone surrogate in the context', dataKey, { ...context, recordId: '\ud800' }],
    ['a key id over 255 bytes', { ...dataKey, id: 'k'.repeat(256) }, context],
  ])('refuses %s as BAD_INPUT', (_name, key, ctx) => {
    expect(codeOf(() => encryptField(plaintext, ctx, key))).toBe('CRYPTO.BAD_INPUT');
  });

  it('opens a format 1 ciphertext from earlier releases, with the same checks', () => {
    const material = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const legacyKey: DataKey = { id: 'customers-dek', version: 7, material };
    // Sealed by the format 1 encryptField (per-message HKDF salted with the nonce).
    const sealed = Buffer.from(
      '01010d637573746f6d6572732d64656b000000072e363d1ca6a3bff00318232f38095955c77465d0466e0ef4d41c7d06fed94a79a93b4f3529d9779dbc7ad05229efaeabd49905e31ba0be3497e52a983d05cc3bb37ed920459586467ef2bc435e',
      'hex',
    );
    expect(readCiphertextHeader(sealed)).toMatchObject({ formatVersion: 1, keyId: 'customers-dek', keyVersion: 7 });
    expect(decryptField(sealed, context, legacyKey).toString()).toBe('alice@example.com');
    const nonce = sealed.subarray(3 + 13 + 4, 3 + 13 + 4 + 12);
    expect(sealed.subarray(3 + 13 + 4 + 12, 3 + 13 + 4 + 12 + 32)).toEqual(deriveMessageKeys(material, nonce).commitment);
    expect(codeOf(() => decryptField(sealed, { ...context, recordId: 'other' }, legacyKey))).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
    expect(codeOf(() => decryptField(sealed, context, { ...legacyKey, material: randomBytes(32) }))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
  });

  it('serves a data key Buffer changed in place, or forgotten, with keys derived from its current bytes', () => {
    const material = randomBytes(32);
    const key: DataKey = { ...dataKey, material };
    const sealed = encryptField(plaintext, context, key);
    const original = Buffer.from(material);
    randomBytes(32).copy(material);
    expect(codeOf(() => decryptField(sealed, context, key))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
    const resealed = encryptField(plaintext, context, key);
    expect(decryptField(resealed, context, { ...key, material: Buffer.from(material) }).equals(plaintext)).toBe(true);
    original.copy(material);
    expect(decryptField(sealed, context, key).equals(plaintext)).toBe(true);
    forgetDataKey(material);
    expect(decryptField(sealed, context, key).equals(plaintext)).toBe(true);
  });

  it('keeps columns apart: one data key gives each (tenant, keyring, field) its own GCM key and the same commitment', () => {
    const a = deriveFieldKeys(dataKey.material, context);
    const b = deriveFieldKeys(dataKey.material, { ...context, field: 'phone' });
    expect(a.encryptionKey.equals(b.encryptionKey)).toBe(false);
    expect(a.commitment).toEqual(b.commitment);
    expect(
      deriveFieldKeys(dataKey.material, { ...context, tenant: 'tenant-1c', keyring: 'ustomers' }).encryptionKey.equals(a.encryptionKey),
    ).toBe(false);
  });

  it('keeps key bytes and plaintext out of error messages', () => {
    const sealed = encryptField(plaintext, context, dataKey);
    const failures = [
      thrownBy(() => decryptField(sealed, { ...context, field: 'phone' }, dataKey)),
      thrownBy(() => decryptField(sealed, context, { ...dataKey, material: randomBytes(32) })),
      thrownBy(() => encryptField(plaintext, context, { ...dataKey, material: dataKey.material.subarray(1) })),
    ] as CryptoError[];
    for (const { message } of failures) {
      for (const secret of [Buffer.from(dataKey.material), plaintext]) {
        expect(message).not.toContain(secret.toString('hex'));
        expect(message).not.toContain(secret.toString('base64'));
        expect(message).not.toContain(secret.toString('latin1'));
      }
    }
  });
});
