import { hasField, hexField, hexFields, loadWycheproof, thrownBy, VectorTally, type WycheproofCase } from '../test/wycheproof';
import { CryptoError, nativeMlKemAvailable, nobleMlKem768, nodeMlKem768, type MlKem768 } from './index';

const FILE = 'mlkem_768_test.json';
const cases = loadWycheproof(FILE);
const implementations: MlKem768[] = [nobleMlKem768, nodeMlKem768];
const tallies = new Map(implementations.map((kem) => [kem, new VectorTally(`${FILE} (${kem.implementation})`, cases.length)]));
const ENCAPS_NOTE = 'the format has no encapsulation randomness, so encapsulation is checked by round trips with the other implementation';

afterAll(() => {
  for (const tally of tallies.values()) {
    tally.note(ENCAPS_NOTE);
    tally.print();
  }
});

describe.each(implementations.map((kem): [string, MlKem768] => [kem.implementation, kem]))('Wycheproof ML-KEM-768 (%s)', (_name, kem) => {
  const tally = tallies.get(kem)!;
  const other = kem === nobleMlKem768 ? nodeMlKem768 : nobleMlKem768;

  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', (_testName, test) => {
    if (kem.implementation === 'node' && !nativeMlKemAvailable()) return tally.skip('node:crypto has no ML-KEM-768 on this runtime');
    tally.run(test.result);
    const [seed, ciphertext, sharedSecret] = hexFields(test, 'seed', 'c', 'K');
    // Key generation from the seed d ‖ z must reproduce ek whenever the case gives one.
    if (hasField(test, 'ek')) expect(kem.publicKeyFromSeed(seed)).toEqual(hexField(test, 'ek'));

    if (test.result === 'invalid') {
      // Wrong-length seeds and ciphertexts: refused as input, never "decapsulated".
      expect(thrownBy(() => kem.decapsulate(ciphertext, seed))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
      return;
    }
    // Valid cases include modified and random ciphertexts: they must yield the implicit-rejection key.
    expect(kem.decapsulate(ciphertext, seed)).toEqual(sharedSecret);
    if (nativeMlKemAvailable()) {
      const ek = hexField(test, 'ek');
      const encapsulated = kem.encapsulate(ek);
      expect(other.decapsulate(encapsulated.ciphertext, seed)).toEqual(encapsulated.sharedSecret);
    }
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('ML-KEM-768 implementations', () => {
  it('runs on a Node with native ML-KEM-768 (the pinned Node 24 with OpenSSL 3.5)', () => {
    expect(nativeMlKemAvailable()).toBe(true);
  });

  it.each(implementations.map((kem): [string, MlKem768] => [kem.implementation, kem]))(
    '%s refuses an encapsulation key with a coefficient out of range (FIPS 203 §7.2)',
    (_name, kem) => {
      const ek = kem.publicKeyFromSeed(Buffer.alloc(64, 3));
      ek[0] = 0xff;
      ek[1] = 0xff;
      expect(thrownBy(() => kem.encapsulate(ek))).toMatchObject({ code: 'CRYPTO.BAD_INPUT' });
    },
  );

  it('refuses non-byte inputs as BAD_INPUT', () => {
    expect(() => nodeMlKem768.publicKeyFromSeed('seed' as unknown as Uint8Array)).toThrow(CryptoError);
  });
});
