import { hexFields, loadWycheproof, numberField, VectorTally, type WycheproofCase } from '../test/wycheproof';
import { hmacSha256, verifyHmacSha256 } from './index';

const FILE = 'hmac_sha256_test.json';
const cases = loadWycheproof(FILE);
const tally = new VectorTally(FILE, cases.length);

afterAll(() => tally.print());

describe('Wycheproof HMAC-SHA256, full and truncated tags', () => {
  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', (_name, test) => {
    tally.run(test.result);
    const [key, msg, tag] = hexFields(test, 'key', 'msg', 'tag');
    expect(tag.length).toBe(numberField(test.group, 'tagSize') / 8);
    if (test.result === 'valid') {
      expect(hmacSha256(key, msg).subarray(0, tag.length)).toEqual(tag);
      expect(verifyHmacSha256(key, msg, tag)).toBe(true);
    } else {
      expect(verifyHmacSha256(key, msg, tag)).toBe(false);
    }
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('verifyHmacSha256', () => {
  const key = Buffer.alloc(32, 1);
  const message = Buffer.from('message');
  const tag = hmacSha256(key, message);

  it('refuses a correct prefix shorter than the minimum tag length', () => {
    expect(verifyHmacSha256(key, message, tag.subarray(0, 15))).toBe(false);
    expect(verifyHmacSha256(key, message, tag.subarray(0, 8), 8)).toBe(true);
  });

  it('refuses a tag longer than the MAC', () => {
    expect(verifyHmacSha256(key, message, Buffer.concat([tag, Buffer.alloc(1)]))).toBe(false);
  });
});
