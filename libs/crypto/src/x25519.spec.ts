import { hexFields, loadWycheproof, thrownBy, VectorTally, type WycheproofCase } from '../test/wycheproof';
import { CryptoError, x25519, x25519PublicKey } from './index';

const FILE = 'x25519_test.json';
const cases = loadWycheproof(FILE);
const tally = new VectorTally(FILE, cases.length);
const acceptable = { accepted: 0, rejected: 0 };

afterAll(() => {
  tally.note(
    `acceptable: ${acceptable.accepted} accepted with the RFC 7748 result, ${acceptable.rejected} rejected (all-zero shared secret)`,
  );
  tally.print();
});

// Policy: compute X25519 exactly as RFC 7748 defines it for every 32-byte public key (twist points and
// non-canonical encodings included), but refuse an all-zero shared secret (RFC 7748 §6.1).
describe('Wycheproof X25519 through node:crypto', () => {
  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', (_name, test) => {
    tally.run(test.result);
    const [publicKey, privateKey, shared] = hexFields(test, 'public', 'private', 'shared');
    const zeroSecret = shared.every((byte) => byte === 0);
    if (test.result === 'invalid' || (test.result === 'acceptable' && zeroSecret)) {
      expect(thrownBy(() => x25519(privateKey, publicKey))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
      if (test.result === 'acceptable') acceptable.rejected++;
      return;
    }
    expect(zeroSecret).toBe(false);
    expect(x25519(privateKey, publicKey)).toEqual(shared);
    if (test.result === 'acceptable') acceptable.accepted++;
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('x25519', () => {
  it('agrees in both directions (RFC 7748 §6.1 key pair)', () => {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const bob = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex');
    expect(x25519PublicKey(alice).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(x25519(alice, x25519PublicKey(bob)).toString('hex')).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    expect(x25519(bob, x25519PublicKey(alice))).toEqual(x25519(alice, x25519PublicKey(bob)));
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => x25519(Buffer.alloc(31), Buffer.alloc(32, 9))).toThrow(CryptoError);
    expect(() => x25519(Buffer.alloc(32, 1), Buffer.alloc(33, 9))).toThrow(CryptoError);
  });
});
