import fc from 'fast-check';

import { BlindIndexer, normalizeForBlindIndex, type BlindIndexKind, type BlindIndexOptions } from './index';

const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 63 });
const indexKey = fc.uint8Array({ minLength: 32, maxLength: 64 });
const kind = fc.constantFrom<BlindIndexKind>('email', 'phone', 'generic');
const options: fc.Arbitrary<BlindIndexOptions> = fc.record({
  tenant: name,
  keyring: name,
  field: name,
  version: fc.integer({ min: 0, max: 0xffff_ffff }),
  kind,
  tokenBytes: fc.integer({ min: 8, max: 32 }),
});
/** Digits only: the same normalised value under every kind, so only the derived key differs. */
const digits = fc.stringMatching(/^[0-9]{1,15}$/);
/** ASCII printable → fullwidth (U+FF01..U+FF5E), which NFKC folds back. */
const fullwidth = (value: string): string => value.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));

function indexable(kindOf: BlindIndexKind, value: string): boolean {
  try {
    normalizeForBlindIndex(kindOf, value);
    return true;
  } catch {
    return false;
  }
}

/** The HMAC part of a token, without its `v<version>:` prefix. */
const mac = (token: string): string => token.slice(token.indexOf(':') + 1);

describe('blind index tokens, properties', () => {
  it('are deterministic per key and scope, with the documented format', () => {
    fc.assert(
      fc.property(indexKey, options, fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), (key, scope, value) => {
        fc.pre(indexable(scope.kind, value));
        const token = new BlindIndexer(key, scope).token(value);
        expect(new BlindIndexer(Buffer.from(key), { ...scope }).token(value)).toBe(token);
        expect(token.startsWith(`v${scope.version}:`)).toBe(true);
        expect(Buffer.from(mac(token), 'base64url')).toHaveLength(scope.tokenBytes!);
      }),
      { numRuns: 300 },
    );
  });

  it('give an email address the same token whatever its case, fullwidth forms and surrounding whitespace', () => {
    const typing = fc.array(fc.constantFrom('as is', 'upper', 'fullwidth', 'upper fullwidth'), { minLength: 1 });
    fc.assert(
      fc.property(
        indexKey,
        options,
        fc.emailAddress(),
        typing,
        fc.constantFrom(' ', '\t', '\n', '\u3000'),
        (key, scope, address, how, pad) => {
          const typed = [...address].map((c, i) => {
            const style = how[i % how.length]!;
            const cased = style.startsWith('upper') ? c.toUpperCase() : c;
            return style.endsWith('fullwidth') ? fullwidth(cased) : cased;
          });
          const indexer = new BlindIndexer(key, { ...scope, kind: 'email' });
          expect(indexer.token(`${pad}${typed.join('')}${pad}`)).toBe(indexer.token(address));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('differ across tenants, keyrings, fields, versions, kinds and keys', () => {
    const change = fc.oneof(
      name.map((tenant) => ({ tenant })),
      name.map((keyring) => ({ keyring })),
      name.map((field) => ({ field })),
      fc.integer({ min: 0, max: 0xffff_ffff }).map((version) => ({ version })),
      kind.map((k) => ({ kind: k })),
    );
    fc.assert(
      fc.property(indexKey, indexKey, options, change, digits, (key, otherKey, scope, changed, value) => {
        const other = { ...scope, ...changed };
        const token = mac(new BlindIndexer(key, scope).token(value));
        if (JSON.stringify(other) !== JSON.stringify(scope)) expect(mac(new BlindIndexer(key, other).token(value))).not.toBe(token);
        if (!Buffer.from(otherKey).equals(key)) expect(mac(new BlindIndexer(otherKey, scope).token(value))).not.toBe(token);
      }),
      { numRuns: 300 },
    );
  });

  it('are equal exactly when the normalised values are', () => {
    const value = fc.oneof(fc.string({ minLength: 1 }), fc.stringMatching(/^\+?[0-9 ()-]{1,20}$/));
    const pair = fc.oneof(
      fc.tuple(value, value),
      fc.tuple(value, fc.constantFrom('', ' ', '\t')).map(([a, pad]): [string, string] => [a, `${pad}${a.toUpperCase()}${pad}`]),
    );
    fc.assert(
      fc.property(indexKey, options, pair, (key, scope, [a, b]) => {
        fc.pre(indexable(scope.kind, a) && indexable(scope.kind, b));
        const indexer = new BlindIndexer(key, scope);
        const same = normalizeForBlindIndex(scope.kind, a) === normalizeForBlindIndex(scope.kind, b);
        expect(indexer.token(a) === indexer.token(b)).toBe(same);
      }),
      { numRuns: 300 },
    );
  });
});
