import { hexFields, loadWycheproof, numberField, thrownBy, VectorTally, type WycheproofCase } from '../test/wycheproof';
import { CryptoError, HKDF_SHA256_MAX_LENGTH, hkdfSha256 } from './index';

const FILE = 'hkdf_sha256_test.json';
const cases = loadWycheproof(FILE);
const tally = new VectorTally(FILE, cases.length);

afterAll(() => tally.print());

describe('Wycheproof HKDF-SHA256', () => {
  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', (_name, test) => {
    tally.run(test.result);
    const [ikm, salt, info, okm] = hexFields(test, 'ikm', 'salt', 'info', 'okm');
    const size = numberField(test.fields, 'size');
    if (test.result === 'valid') {
      expect(hkdfSha256(ikm, salt, info, size)).toEqual(okm);
    } else {
      expect(thrownBy(() => hkdfSha256(ikm, salt, info, size))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
    }
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('hkdfSha256 input checks', () => {
  it('accepts a string info as UTF-8', () => {
    expect(hkdfSha256(Buffer.alloc(32), Buffer.alloc(0), 'é', 32)).toEqual(
      hkdfSha256(Buffer.alloc(32), Buffer.alloc(0), Buffer.from('c3a9', 'hex'), 32),
    );
  });

  it.each([0, -1, 1.5, HKDF_SHA256_MAX_LENGTH + 1])('refuses output length %s', (length) => {
    expect(() => hkdfSha256(Buffer.alloc(32), Buffer.alloc(0), '', length)).toThrow(CryptoError);
  });

  it('refuses info beyond what node:crypto supports, as BAD_INPUT rather than a RangeError', () => {
    expect(thrownBy(() => hkdfSha256(Buffer.alloc(32), Buffer.alloc(0), Buffer.alloc(1025), 32))).toMatchObject({
      code: 'CRYPTO.BAD_INPUT',
    });
  });

  it('refuses key material that is not bytes', () => {
    expect(() => hkdfSha256('secret' as unknown as Uint8Array, Buffer.alloc(0), '', 32)).toThrow(CryptoError);
  });
});
