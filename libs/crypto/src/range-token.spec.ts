import { randomBytes, randomInt } from 'node:crypto';

import { thrownBy } from '../test/wycheproof';
import { RANGE_TOKEN_HEX_LENGTH, RangeTokenizer, type IndexKeyScope } from './index';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const scope: IndexKeyScope = { tenant: 'tenant-1', keyring: 'orders', field: 'amount', version: 1 };
const tokenizer = new RangeTokenizer(randomBytes(32), scope);

const randomInt64 = (): bigint => randomBytes(8).readBigInt64BE();
const sign = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
/** How PostgreSQL compares the tokens: as `text COLLATE "C"` (byte-wise) or as `bytea`. */
const compareAsStored = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

describe('RangeTokenizer', () => {
  it('emits fixed-width lowercase hex', () => {
    for (const value of [INT64_MIN, -1n, 0n, 1n, INT64_MAX, randomInt64()]) {
      expect(tokenizer.int64(value)).toMatch(new RegExp(`^[0-9a-f]{${RANGE_TOKEN_HEX_LENGTH}}$`));
    }
  });

  it('preserves order on many random pairs, as strings and as bytes', () => {
    for (let i = 0; i < 1000; i++) {
      const [a, b] = [randomInt64(), randomInt64()];
      const [ta, tb] = [tokenizer.int64(a), tokenizer.int64(b)];
      expect(sign(BigInt(`0x${ta}`), BigInt(`0x${tb}`))).toBe(sign(a, b));
      expect(Math.sign(compareAsStored(ta, tb))).toBe(sign(a, b));
      expect(ta < tb).toBe(a < b);
    }
  });

  it('keeps neighbouring and clustered values strictly ordered', () => {
    const base = randomInt64() / 2n;
    const values = [INT64_MIN, INT64_MIN + 1n, -1n, 0n, 1n, INT64_MAX - 1n, INT64_MAX];
    for (let i = 0; i < 200; i++) values.push(base + BigInt(randomInt(0, 1000)));
    const distinct = [...new Set(values)].sort((a, b) => sign(a, b));
    const tokens = distinct.map((value) => tokenizer.int64(value));
    expect([...tokens].sort()).toEqual(tokens);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('is deterministic for a key and scope, and accepts safe-integer numbers', () => {
    const key = randomBytes(32);
    expect(new RangeTokenizer(key, scope).int64(42n)).toBe(new RangeTokenizer(key, scope).int64(42));
  });

  it('separates index keys, scopes and the int64 and timestamp domains', () => {
    const key = randomBytes(32);
    const token = new RangeTokenizer(key, scope).int64(1_700_000_000_000n);
    const others = [
      new RangeTokenizer(randomBytes(32), scope).int64(1_700_000_000_000n),
      new RangeTokenizer(key, { ...scope, tenant: 'tenant-2' }).int64(1_700_000_000_000n),
      new RangeTokenizer(key, { ...scope, field: 'total' }).int64(1_700_000_000_000n),
      new RangeTokenizer(key, { ...scope, version: 2 }).int64(1_700_000_000_000n),
      new RangeTokenizer(key, scope).timestamp(new Date(1_700_000_000_000)),
    ];
    for (const other of others) expect(other).not.toBe(token);
  });

  it('orders timestamps at millisecond precision', () => {
    const start = Date.UTC(2020, 0, 1);
    const dates = Array.from({ length: 200 }, () => new Date(start + randomInt(0, 2 ** 40)));
    dates.push(new Date(start), new Date(start + 1), new Date(-1), new Date(0));
    for (let i = 0; i < dates.length - 1; i++) {
      const [a, b] = [dates[i]!, dates[i + 1]!];
      expect(Math.sign(compareAsStored(tokenizer.timestamp(a), tokenizer.timestamp(b)))).toBe(
        sign(BigInt(a.getTime()), BigInt(b.getTime())),
      );
    }
  });

  it.each([
    ['2^63', () => tokenizer.int64(INT64_MAX + 1n)],
    ['-2^63 - 1', () => tokenizer.int64(INT64_MIN - 1n)],
    ['an unsafe number', () => tokenizer.int64(2 ** 60)],
    ['a fraction', () => tokenizer.int64(1.5)],
    ['an invalid Date', () => tokenizer.timestamp(new Date(Number.NaN))],
  ])('refuses %s', (_name, operation) => {
    expect(thrownBy(operation)).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
  });
});
