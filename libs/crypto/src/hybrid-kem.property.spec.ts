import fc from 'fast-check';

import { thrownBy } from '../test/wycheproof';
import { CryptoError, nobleXWing, nodeXWing, unwrapKey, wrapKey, type HybridKem } from './index';

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const dataKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
const aad = fc.uint8Array({ maxLength: 128 });
const KEMS: HybridKem[] = [nodeXWing, nobleXWing];

describe('X-Wing key wrapping, properties', () => {
  it('derives the same public key from any seed in the native and noble implementations', () => {
    fc.assert(
      fc.property(seed, (sk) => {
        expect(nodeXWing.generateKeyPair(sk).publicKey.equals(nobleXWing.generateKeyPair(sk).publicKey)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('unwraps any data key wrapped under any aad, whichever implementation wrapped and whichever unwraps', () => {
    fc.assert(
      fc.property(seed, dataKey, aad, (sk, key, context) => {
        const { publicKey } = nodeXWing.generateKeyPair(sk);
        for (const wrapper of KEMS) {
          const wrapped = wrapKey(publicKey, key, { aad: context, kem: wrapper });
          for (const unwrapper of KEMS) {
            expect(unwrapKey(sk, wrapped, { aad: context, kem: unwrapper }).equals(key)).toBe(true);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a wrapped key under other aad, another secret key or with any byte changed', () => {
    const tamper = fc.oneof(
      aad.map((other) => ({ aad: other })),
      seed.map((other) => ({ secretKey: other })),
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([position, mask]) => ({ position, mask })),
    );
    fc.assert(
      fc.property(seed, dataKey, aad, tamper, (sk, key, context, change) => {
        const wrapped = wrapKey(nodeXWing.generateKeyPair(sk).publicKey, key, { aad: context, kem: nodeXWing });
        let attempt: () => Buffer;
        if ('aad' in change) {
          fc.pre(!Buffer.from(change.aad).equals(context));
          attempt = () => unwrapKey(sk, wrapped, { aad: change.aad, kem: nodeXWing });
        } else if ('secretKey' in change) {
          fc.pre(!Buffer.from(change.secretKey).equals(sk));
          attempt = () => unwrapKey(change.secretKey, wrapped, { aad: context, kem: nodeXWing });
        } else {
          const at = change.position % wrapped.length;
          const tampered = Buffer.from(wrapped);
          tampered[at]! ^= change.mask;
          attempt = () => unwrapKey(sk, tampered, { aad: context, kem: nodeXWing });
        }
        const error = thrownBy(attempt);
        expect(error).toBeInstanceOf(CryptoError);
        const expected =
          'position' in change && change.position % wrapped.length < 2 ? 'CRYPTO.UNSUPPORTED_FORMAT' : 'CRYPTO.INTEGRITY_CHECK_FAILED';
        expect((error as CryptoError).code).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
