import { base32Decode, base32Encode } from './base32';
import { InvalidTotpSecretError } from './mfa.errors';

// RFC 4648 §10 test vectors, with the padding this encoder omits.
const VECTORS: ReadonlyArray<[string, string]> = [
  ['', ''],
  ['f', 'MY'],
  ['fo', 'MZXQ'],
  ['foo', 'MZXW6'],
  ['foob', 'MZXW6YQ'],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI'],
];

describe('base32 (RFC 4648 §6)', () => {
  it.each(VECTORS)('encodes %j as %s without padding', (plain, encoded) => {
    expect(base32Encode(Buffer.from(plain, 'ascii'))).toBe(encoded);
  });

  it.each(VECTORS)('decodes %s back to %j', (plain, encoded) => {
    expect(base32Decode(encoded).toString('ascii')).toBe(plain);
  });

  it('accepts padding, lower case and spaces as people copy secrets', () => {
    expect(base32Decode('mzxw 6ytb oi======').toString('ascii')).toBe('foobar');
  });

  it('round-trips random bytes of every length up to 70', () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) & 0xff));
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
  });

  it.each(['MZXW1', 'MZ0W', 'M', 'MZX', 'MZXW6Y', 'MZ\u0130W'])('rejects %j', (text) => {
    expect(() => base32Decode(text)).toThrow(InvalidTotpSecretError);
  });

  it('rejects non-zero trailing bits instead of ignoring them', () => {
    expect(() => base32Decode('MY')).not.toThrow();
    expect(() => base32Decode('MZ')).toThrow(InvalidTotpSecretError);
  });
});
