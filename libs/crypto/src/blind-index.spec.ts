import { createHmac, hkdfSync, randomBytes } from 'node:crypto';

import { thrownBy } from '../test/wycheproof';
import { BlindIndexer, normalizeForBlindIndex, type BlindIndexOptions } from './index';

const indexKey = randomBytes(32);
const email: BlindIndexOptions = { tenant: 'tenant-1', keyring: 'customers', field: 'email', version: 3, kind: 'email' };

describe('BlindIndexer', () => {
  it('is HMAC-SHA256 under an HKDF-derived field key, truncated, base64url, with a version prefix', () => {
    const lp = (...parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((part) => [Buffer.from([0, 0, 0, part.length]), part]));
    const info = lp(
      Buffer.from('traceo/blind-index/v1'),
      Buffer.from('tenant-1'),
      Buffer.from('customers'),
      Buffer.from('email'),
      Buffer.from([0, 0, 0, 3]),
      Buffer.from('email'),
    );
    const fieldKey = Buffer.from(hkdfSync('sha256', indexKey, Buffer.alloc(0), info, 32));
    const mac = createHmac('sha256', fieldKey).update('alice@example.com').digest().subarray(0, 16);
    expect(new BlindIndexer(indexKey, email).token('alice@example.com')).toBe(`v3:${mac.toString('base64url')}`);
  });

  it('gives equal tokens for equal normalised values, and only for those', () => {
    const indexer = new BlindIndexer(indexKey, email);
    expect(indexer.token('  Alice@Example.COM ')).toBe(indexer.token('alice@example.com'));
    expect(indexer.token('ａｌｉｃｅ@example.com')).toBe(indexer.token('alice@example.com'));
    expect(indexer.token('alice@example.org')).not.toBe(indexer.token('alice@example.com'));
  });

  it('separates tenants, keyrings, fields, versions, kinds and index keys', () => {
    const token = new BlindIndexer(indexKey, email).token('value@x');
    const variants: [Uint8Array, BlindIndexOptions][] = [
      [indexKey, { ...email, tenant: 'tenant-2' }],
      [indexKey, { ...email, keyring: 'staff' }],
      [indexKey, { ...email, field: 'backup_email' }],
      [indexKey, { ...email, version: 4 }],
      [indexKey, { ...email, kind: 'generic' }],
      [randomBytes(32), email],
    ];
    for (const [key, options] of variants) {
      expect(new BlindIndexer(key, options).token('value@x').slice(3)).not.toBe(token.slice(3));
    }
  });

  it('truncates to the configured number of bytes, never below 8', () => {
    expect(new BlindIndexer(indexKey, { ...email, tokenBytes: 8 }).token('a@b')).toMatch(/^v3:[A-Za-z0-9_-]{11}$/);
    expect(new BlindIndexer(indexKey, { ...email, tokenBytes: 32 }).token('a@b')).toMatch(/^v3:[A-Za-z0-9_-]{43}$/);
    for (const tokenBytes of [7, 33, 8.5]) {
      expect(thrownBy(() => new BlindIndexer(indexKey, { ...email, tokenBytes }))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
    }
  });

  it('refuses an index key shorter than 32 bytes and an unknown kind', () => {
    expect(thrownBy(() => new BlindIndexer(randomBytes(16), email))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
    expect(thrownBy(() => new BlindIndexer(indexKey, { ...email, kind: 'ssn' as 'email' }))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
  });
});

describe('normalizeForBlindIndex', () => {
  it.each([
    ['email', '  Alice.Smith@Example.COM\t', 'alice.smith@example.com'],
    ['email', 'ＡＬＩＣＥ＠example.com', 'alice@example.com'],
    ['phone', '+1 (555) 010-0000', '+15550100000'],
    ['phone', ' ＋４４ ２０ ７９４６ ００００', '+442079460000'],
    ['phone', '555.010.0000 ext', '5550100000'],
    ['generic', '  ﬁle Name ', 'file Name'],
  ] as const)('normalises a %s %j to %j', (kind, input, expected) => {
    expect(normalizeForBlindIndex(kind, input)).toBe(expected);
  });

  it('keeps a leading + significant for phones', () => {
    expect(normalizeForBlindIndex('phone', '+15550100000')).not.toBe(normalizeForBlindIndex('phone', '15550100000'));
  });

  it.each([
    ['email', '   '],
    ['phone', '+ ( ) -'],
    ['generic', ''],
    ['generic', 'a\ud800'],
  ] as const)('refuses a %s value with nothing to index or ill-formed: %j', (kind, input) => {
    expect(thrownBy(() => normalizeForBlindIndex(kind, input))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
  });
});
