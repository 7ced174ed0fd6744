import { hexField, hexFields, loadWycheproof, numberField, thrownBy, VectorTally, type WycheproofCase } from '../test/wycheproof';
import { aesGcmDecrypt, aesGcmEncrypt, CryptoError, GCM_MAX_IV_LENGTH } from './index';

const FILE = 'aes_gcm_test.json';
const cases = loadWycheproof(FILE);
const tally = new VectorTally(FILE, cases.length);

afterAll(() => tally.print());

describe('Wycheproof AES-GCM through the raw aesGcmEncrypt / aesGcmDecrypt', () => {
  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', (_name, test) => {
    // The raw functions take 128/192/256-bit keys, IVs up to node:crypto's 128-byte limit and full 128-bit tags.
    if (numberField(test.group, 'tagSize') !== 128) return tally.skip('tag sizes other than 128 bits: only full tags are accepted');
    if (numberField(test.group, 'ivSize') > GCM_MAX_IV_LENGTH * 8) {
      expect(() => aesGcmEncrypt(hexField(test, 'key'), hexField(test, 'iv'), Buffer.alloc(0), Buffer.alloc(0))).toThrow(CryptoError);
      return tally.skip(`IVs over ${GCM_MAX_IV_LENGTH} bytes: node:crypto refuses them`);
    }
    tally.run(test.result);
    const [key, iv, aad, msg, ct, tag] = hexFields(test, 'key', 'iv', 'aad', 'msg', 'ct', 'tag');
    expect(key.length).toBe(numberField(test.group, 'keySize') / 8);
    expect(iv.length).toBe(numberField(test.group, 'ivSize') / 8);

    if (test.result === 'valid') {
      expect(aesGcmEncrypt(key, iv, aad, msg)).toEqual({ ciphertext: ct, tag });
      expect(aesGcmDecrypt(key, iv, aad, ct, tag)).toEqual(msg);
      return;
    }
    const error = thrownBy(() => aesGcmDecrypt(key, iv, aad, ct, tag));
    expect(error).toBeInstanceOf(CryptoError);
    if (iv.length === 0) {
      // Empty IVs are refused as input, for encryption too, rather than failing authentication.
      expect((error as CryptoError).code).toBe('CRYPTO.BAD_INPUT');
      expect(() => aesGcmEncrypt(key, iv, aad, msg)).toThrow(CryptoError);
    } else {
      expect((error as CryptoError).code).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');
    }
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('raw AES-GCM', () => {
  const key = Buffer.alloc(32, 7);
  const iv = Buffer.alloc(12, 1);
  const { ciphertext, tag } = aesGcmEncrypt(key, iv, Buffer.from('aad'), Buffer.from('secret'));

  it('refuses a truncated tag even when it is a prefix of the right one', () => {
    expect(() => aesGcmDecrypt(key, iv, Buffer.from('aad'), ciphertext, tag.subarray(0, 12))).toThrow(CryptoError);
  });

  it('refuses key sizes other than 128, 192 and 256 bits', () => {
    expect(() => aesGcmEncrypt(Buffer.alloc(31), iv, Buffer.alloc(0), Buffer.alloc(1))).toThrow(/16, 24 or 32 bytes/);
  });
});
