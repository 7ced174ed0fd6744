import fc from 'fast-check';

import { thrownBy } from '../test/wycheproof';
import {
  CryptoError,
  decryptField,
  encryptField,
  readCiphertextHeader,
  type CryptoErrorCode,
  type DataKey,
  type EncryptionContext,
} from './index';

/** Any well-formed name: 1..63 code points from the whole Unicode range, so at most 252 UTF-8 bytes. */
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 63 });
const context: fc.Arbitrary<EncryptionContext> = fc.record({ tenant: name, keyring: name, field: name, recordId: name });
const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const dataKey: fc.Arbitrary<DataKey> = fc.record({ id: name, version: uint32, material: keyBytes });
/** UTF-8 text: empty, any code points, and multi-code-point graphemes. */
const text = fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }));
const bytes = fc.uint8Array({ maxLength: 1024 });
const CONTEXT_PARTS = ['tenant', 'keyring', 'field', 'recordId'] as const;

function failureOf(operation: () => unknown): CryptoErrorCode {
  const error = thrownBy(operation);
  // Not thrown means decryption answered with bytes: the property fails here.
  expect(error).toBeInstanceOf(CryptoError);
  return (error as CryptoError).code;
}

describe('field encryption, properties', () => {
  it('round-trips any UTF-8 text under any context, key id and version, and names its key in the header', () => {
    fc.assert(
      fc.property(text, context, dataKey, (value, where, key) => {
        const sealed = encryptField(Buffer.from(value, 'utf8'), where, key);
        expect(readCiphertextHeader(sealed)).toMatchObject({ keyId: key.id, keyVersion: key.version });
        expect(decryptField(sealed, where, key).toString('utf8')).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(bytes, context, dataKey, (value, where, key) => {
        expect(decryptField(encryptField(value, where, key), where, key).equals(value)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses the ciphertext under a context that differs in any one component', () => {
    fc.assert(
      fc.property(bytes, context, dataKey, fc.constantFrom(...CONTEXT_PARTS), name, (value, where, key, part, replacement) => {
        fc.pre(replacement !== where[part]);
        const sealed = encryptField(value, where, key);
        expect(failureOf(() => decryptField(sealed, { ...where, [part]: replacement }, key))).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the ciphertext when characters move across the boundary of two neighbouring context names', () => {
    fc.assert(
      fc.property(bytes, context, dataKey, fc.integer({ min: 0, max: 2 }), fc.nat(), (value, where, key, at, cut) => {
        const [left, right] = [CONTEXT_PARTS[at]!, CONTEXT_PARTS[at + 1]!];
        const joined = [...where[left], ...where[right]];
        const split = 1 + (cut % (joined.length - 1));
        fc.pre(split !== [...where[left]].length);
        const moved = { ...where, [left]: joined.slice(0, split).join(''), [right]: joined.slice(split).join('') };
        const sealed = encryptField(value, where, key);
        expect(failureOf(() => decryptField(sealed, moved, key))).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses the ciphertext under other key bytes, another key id or another version', () => {
    const otherKey = fc.oneof(
      keyBytes.map((material) => ({ material })),
      name.map((id) => ({ id })),
      uint32.map((version) => ({ version })),
    );
    fc.assert(
      fc.property(bytes, context, dataKey, otherKey, (value, where, key, change) => {
        const wrong = { ...key, ...change };
        fc.pre(wrong.id !== key.id || wrong.version !== key.version || !Buffer.from(wrong.material).equals(key.material));
        const sealed = encryptField(value, where, key);
        expect(failureOf(() => decryptField(sealed, where, wrong))).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a ciphertext with any byte changed, never answering with bytes', () => {
    fc.assert(
      fc.property(bytes, context, dataKey, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, where, key, position, mask) => {
        const sealed = encryptField(value, where, key);
        const at = position % sealed.length;
        const tampered = Buffer.from(sealed);
        tampered[at]! ^= mask;
        const keyIdEnd = 3 + Buffer.byteLength(key.id);
        const headerLength = keyIdEnd + 4 + 12 + 32;
        const code = failureOf(() => decryptField(tampered, where, key));
        // Version and algorithm decide whether it parses (version 1 parses as the legacy format, whose
        // commitment then differs); the key id's length and bytes may make it unparsable or name another
        // key; key version and commitment pick another key; GCM covers the nonce and the rest.
        const nonceStart = keyIdEnd + 4;
        if (at === 0) expect(['CRYPTO.UNSUPPORTED_FORMAT', 'CRYPTO.KEY_COMMITMENT_MISMATCH']).toContain(code);
        else if (at === 1) expect(code).toBe('CRYPTO.UNSUPPORTED_FORMAT');
        else if (at < keyIdEnd) expect(['CRYPTO.UNSUPPORTED_FORMAT', 'CRYPTO.KEY_COMMITMENT_MISMATCH']).toContain(code);
        else if (at >= nonceStart && at < nonceStart + 12) expect(code).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
        else if (at < headerLength) expect(code).toBe('CRYPTO.KEY_COMMITMENT_MISMATCH');
        else expect(code).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
      }),
      { numRuns: 500 },
    );
  });
});
