import { argon2idHash, argon2idVerify, formatArgon2idPhc, parseArgon2idPhc, type Argon2idParameters } from './argon2id';

/** phc-winner-argon2 src/test.c: argon2id, v=19, t=2, m=2^16, p=1, "password" / "somesalt" (tag 09316115…913cf7). */
const REFERENCE_PHC = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';

const light: Argon2idParameters = { memoryKiB: 1024, passes: 1, parallelism: 1, saltBytes: 16, tagBytes: 32 };

describe('argon2id PHC strings', () => {
  it('verifies the reference implementation test vector and nothing else', async () => {
    await expect(argon2idVerify(REFERENCE_PHC, 'password')).resolves.toBe(true);
    await expect(argon2idVerify(REFERENCE_PHC, 'passwore')).resolves.toBe(false);
  });

  it('parses the reference string into its parameters, salt and tag', () => {
    const parsed = parseArgon2idPhc(REFERENCE_PHC);
    expect(parsed).toMatchObject({ memoryKiB: 65536, passes: 2, parallelism: 1, saltBytes: 8, tagBytes: 32 });
    expect(parsed?.salt.toString('ascii')).toBe('somesalt');
    expect(parsed?.tag.toString('hex')).toBe('09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7');
    expect(formatArgon2idPhc(parsed!)).toBe(REFERENCE_PHC);
  });

  it('hashes with a fresh salt each time and verifies its own output', async () => {
    const [a, b] = await Promise.all([argon2idHash('secret', light), argon2idHash('secret', light)]);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    await expect(argon2idVerify(a, 'secret')).resolves.toBe(true);
    await expect(argon2idVerify(a, 'Secret')).resolves.toBe(false);
  });

  it.each([
    ['another algorithm', REFERENCE_PHC.replace('argon2id', 'argon2i')],
    ['another version', REFERENCE_PHC.replace('v=19', 'v=16')],
    ['a missing tag', REFERENCE_PHC.slice(0, REFERENCE_PHC.lastIndexOf('$'))],
    ['a 4 TiB memory cost', REFERENCE_PHC.replace('m=65536', 'm=4294967295')],
    ['zero passes', REFERENCE_PHC.replace('t=2', 't=0')],
    ['a salt under 8 bytes', REFERENCE_PHC.replace('c29tZXNhbHQ', 'c29tZQ')],
    ['a short tag', REFERENCE_PHC.replace(/\$[^$]+$/, '$AAAA')],
    ['trailing garbage', `${REFERENCE_PHC}$x`],
    ['a bcrypt hash', '$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
  ])('refuses %s without throwing', async (_label, phc) => {
    expect(parseArgon2idPhc(phc)).toBeUndefined();
    await expect(argon2idVerify(phc, 'password')).resolves.toBe(false);
  });
});
