import fc from 'fast-check';

import { RANGE_TOKEN_HEX_LENGTH, RangeTokenizer, type IndexKeyScope } from './index';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
const date = fc.date({ noInvalidDate: true });
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 63 });
const scope: fc.Arbitrary<IndexKeyScope> = fc.record({
  tenant: name,
  keyring: name,
  field: name,
  version: fc.integer({ min: 0, max: 0xffff_ffff }),
});
const tokenizer = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 64 }), scope).map(([key, where]) => new RangeTokenizer(key, where));

const sign = (a: bigint | number, b: bigint | number): number => (a < b ? -1 : a > b ? 1 : 0);
/** How PostgreSQL orders `text COLLATE "C"`: byte-wise. */
const stored = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
const TOKEN = new RegExp(`^[0-9a-f]{${RANGE_TOKEN_HEX_LENGTH}}$`);

describe('range tokens, properties', () => {
  it('order any two int64 values as the values are ordered, byte-wise', () => {
    fc.assert(
      fc.property(tokenizer, int64, int64, (t, a, b) => {
        const [ta, tb] = [t.int64(a), t.int64(b)];
        expect(ta).toMatch(TOKEN);
        expect(stored(ta, tb)).toBe(sign(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it('keep neighbouring int64 values strictly ordered', () => {
    fc.assert(
      fc.property(tokenizer, fc.bigInt({ min: INT64_MIN, max: INT64_MAX - 1n }), (t, a) => {
        expect(t.int64(a) < t.int64(a + 1n)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('sort a list of int64 values exactly as sorting the values does', () => {
    fc.assert(
      fc.property(tokenizer, fc.uniqueArray(int64, { minLength: 2, maxLength: 16 }), (t, values) => {
        const byValue = [...values].sort(sign);
        const byToken = [...values].sort((a, b) => stored(t.int64(a), t.int64(b)));
        expect(byToken).toEqual(byValue);
      }),
      { numRuns: 60 },
    );
  });

  it('order any two timestamps as their milliseconds are ordered', () => {
    fc.assert(
      fc.property(tokenizer, date, date, (t, a, b) => {
        const [ta, tb] = [t.timestamp(a), t.timestamp(b)];
        expect(ta).toMatch(TOKEN);
        expect(stored(ta, tb)).toBe(sign(a.getTime(), b.getTime()));
      }),
      { numRuns: 300 },
    );
  });

  it('keep timestamps one millisecond apart strictly ordered', () => {
    fc.assert(
      fc.property(tokenizer, fc.date({ noInvalidDate: true, max: new Date(8.64e15 - 1) }), (t, a) => {
        expect(t.timestamp(a) < t.timestamp(new Date(a.getTime() + 1))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('are deterministic per key and scope, and take safe-integer numbers like bigints', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), scope, fc.maxSafeInteger(), (key, where, value) => {
        expect(new RangeTokenizer(Buffer.from(key), { ...where }).int64(value)).toBe(new RangeTokenizer(key, where).int64(BigInt(value)));
      }),
      { numRuns: 200 },
    );
  });

  it('differ across versions for every value, the ends of the int64 range included', () => {
    // The keyed offset makes even -2^63 (the first point of the map under every key) and its
    // neighbours key-dependent; before it, values within about 2^12 of either end often collided.
    const anywhere = fc.oneof(
      fc.bigInt({ min: INT64_MIN, max: INT64_MIN + 4096n }),
      fc.bigInt({ min: INT64_MAX - 4096n, max: INT64_MAX }),
      fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), scope, anywhere, (key, where, value) => {
        const next = { ...where, version: (where.version + 1) % 2 ** 32 };
        expect(new RangeTokenizer(key, next).int64(value)).not.toBe(new RangeTokenizer(key, where).int64(value));
      }),
      { numRuns: 200 },
    );
  });
});
