import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { hexFields, loadWycheproof, VectorTally, type WycheproofCase } from '@traceo/crypto/wycheproof';
import { p1363ToDer, verifyJwsSignature } from './jws-signature';

/**
 * A strict DER ECDSA-Sig-Value parser for the vectors (not used by the code under test): R and S as
 * unsigned big-endian magnitudes, or undefined when the bytes are not exactly one minimal DER encoding.
 */
function parseStrictDer(der: Buffer): { r: Buffer; s: Buffer } | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1]! >= 0x80 || der[1] !== der.length - 2) return undefined;
  const integers: Buffer[] = [];
  let at = 2;
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02 || at + 2 > der.length) return undefined;
    const length = der[at + 1]!;
    if (length === 0 || length >= 0x80 || at + 2 + length > der.length) return undefined;
    const value = der.subarray(at + 2, at + 2 + length);
    if (value[0]! & 0x80) return undefined; // negative
    if (length > 1 && value[0] === 0 && !(value[1]! & 0x80)) return undefined; // not minimal
    integers.push(value[0] === 0 && length > 1 ? value.subarray(1) : value);
    at += 2 + length;
  }
  return at === der.length ? { r: integers[0]!, s: integers[1]! } : undefined;
}

function fixed(magnitude: Buffer, size: number): Buffer | undefined {
  if (magnitude.length > size) return undefined;
  return Buffer.concat([Buffer.alloc(size - magnitude.length), magnitude]);
}

describe('Wycheproof ECDSA P-256 / SHA-256 through verifyJwsSignature (ES256)', () => {
  const FILE = 'ecdsa_secp256r1_sha256_test.json';
  const cases = loadWycheproof(FILE);
  const tally = new VectorTally(FILE, cases.length);
  afterAll(() => tally.print());

  // The vectors carry DER signatures; a JWS carries R ‖ S. Each vector whose signature is one minimal
  // DER encoding of an R and S that fit 32 bytes becomes the JWS signature R ‖ S and must get the
  // vector's result. The others (BER/DER encoding variants, R or S wider than 32 bytes) cannot be
  // written as a JWS signature at all and are skipped, counted by reason.
  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', async (_name, test) => {
    const [msg, sig] = hexFields(test, 'msg', 'sig');
    const parsed = parseStrictDer(sig);
    if (parsed === undefined) return tally.skip('signature not a minimal DER encoding');
    const r = fixed(parsed.r, 32);
    const s = fixed(parsed.s, 32);
    if (r === undefined || s === undefined) return tally.skip('R or S wider than 32 bytes');
    if (test.result === 'acceptable') return tally.skip('acceptable');
    tally.run(test.result);
    const key = createPublicKey({ key: Buffer.from(test.group['publicKeyDer'] as string, 'hex'), format: 'der', type: 'spki' });
    expect(await verifyJwsSignature('ES256', key, msg, Buffer.concat([r, s]))).toBe(test.result === 'valid');
  });

  it('ran or deliberately skipped every case, and ran both outcomes', () => {
    expect(tally.complete).toBe(true);
    expect(cases.some((test) => test.result === 'valid')).toBe(true);
  });
});

describe('Wycheproof Ed25519 through verifyJwsSignature (EdDSA)', () => {
  const FILE = 'ed25519_test.json';
  const cases = loadWycheproof(FILE);
  const tally = new VectorTally(FILE, cases.length);
  afterAll(() => tally.print());

  it.each(cases.map((test): [string, WycheproofCase] => [test.name, test]))('%s', async (_name, test) => {
    if (test.result === 'acceptable') return tally.skip('acceptable');
    tally.run(test.result);
    const [msg, sig] = hexFields(test, 'msg', 'sig');
    const key = createPublicKey({ key: Buffer.from(test.group['publicKeyDer'] as string, 'hex'), format: 'der', type: 'spki' });
    expect(await verifyJwsSignature('EdDSA', key, msg, sig)).toBe(test.result === 'valid');
  });

  it('ran or deliberately skipped every case', () => {
    expect(tally.complete).toBe(true);
  });
});

describe('p1363ToDer', () => {
  it('writes minimal positive integers: leading zeros dropped, a zero byte before a set high bit', () => {
    const r = Buffer.alloc(32);
    r[31] = 0x05; // 31 leading zero bytes
    const s = Buffer.alloc(32, 0xff); // high bit set
    expect(p1363ToDer(Buffer.concat([r, s]), 32)!.toString('hex')).toBe(`3026020105022100${'ff'.repeat(32)}`);
    expect(p1363ToDer(Buffer.alloc(64), 32)!.toString('hex')).toBe('3006020100020100');
  });

  it('gives back, byte for byte, the DER signatures OpenSSL writes', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // About 1 in 128 signatures has an R or S with a leading zero byte (a shorter DER integer): sign
    // until 10 of those went through too, besides at least 500 in all.
    let shortIntegers = 0;
    let signed = 0;
    while ((signed < 500 || shortIntegers < 10) && signed < 50_000) {
      const der = sign('sha256', Buffer.from(`message ${signed++}`), privateKey);
      const { r, s } = parseStrictDer(der)!;
      if (r.length < 32 || s.length < 32) shortIntegers++;
      expect(p1363ToDer(Buffer.concat([fixed(r, 32)!, fixed(s, 32)!]), 32)).toEqual(der);
    }
    expect(shortIntegers).toBeGreaterThanOrEqual(10);
  });

  it.each([0, 63, 65, 128])('refuses a %i-byte signature', (length) => {
    expect(p1363ToDer(Buffer.alloc(length, 1), 32)).toBeUndefined();
  });
});

describe('verifyJwsSignature', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9', 'ascii');
  const es256 = sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const eddsa = sign(null, data, ed.privateKey);

  it('accepts a signature over exactly the signed bytes, and nothing else', async () => {
    expect(await verifyJwsSignature('ES256', ec.publicKey, data, es256)).toBe(true);
    expect(await verifyJwsSignature('EdDSA', ed.publicKey, data, eddsa)).toBe(true);
    const altered = Buffer.from(data);
    altered[altered.length - 1]! ^= 1;
    expect(await verifyJwsSignature('ES256', ec.publicKey, altered, es256)).toBe(false);
    expect(await verifyJwsSignature('EdDSA', ed.publicKey, altered, eddsa)).toBe(false);
  });

  it('refuses a key of another type or curve for the algorithm, and a private key', async () => {
    expect(await verifyJwsSignature('ES256', ed.publicKey, data, es256)).toBe(false);
    expect(await verifyJwsSignature('EdDSA', ec.publicKey, data, eddsa)).toBe(false);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(await verifyJwsSignature('ES256', p384.publicKey, data, es256)).toBe(false);
    expect(await verifyJwsSignature('ES256', ec.privateKey, data, es256)).toBe(false);
  });

  it('refuses an unknown algorithm and signatures of the wrong length', async () => {
    expect(await verifyJwsSignature('RS256' as never, ec.publicKey, data, es256)).toBe(false);
    expect(await verifyJwsSignature('ES256', ec.publicKey, data, es256.subarray(0, 63))).toBe(false);
    expect(await verifyJwsSignature('EdDSA', ed.publicKey, data, Buffer.concat([eddsa, Buffer.alloc(1)]))).toBe(false);
  });
});
