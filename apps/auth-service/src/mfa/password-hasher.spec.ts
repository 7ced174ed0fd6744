import { parseArgon2idPhc } from './argon2id';
import { InvalidMfaParametersError } from './mfa.errors';
import { MAX_PASSWORD_LENGTH, PASSWORD_ARGON2ID, PasswordHasher } from './password-hasher';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('stores argon2id with the documented OWASP parameters in a PHC string', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(parseArgon2idPhc(hash)).toMatchObject(PASSWORD_ARGON2ID);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    await expect(hasher.verify(hash, 'correct horse battery staple')).resolves.toBe(true);
    await expect(hasher.verify(hash, 'correct horse battery stapler')).resolves.toBe(false);
  });

  it('verifies a password typed in another Unicode normalisation form', async () => {
    const hash = await hasher.hash('Ca\u0301fe\u0301'); // decomposed accents
    await expect(hasher.verify(hash, 'C\u00e1f\u00e9')).resolves.toBe(true); // precomposed
  });

  it('refuses, without throwing, non-string, oversized input and unreadable stored hashes', async () => {
    const hash = await hasher.hash('pw');
    await expect(hasher.verify(hash, undefined)).resolves.toBe(false);
    await expect(hasher.verify(hash, 'x'.repeat(MAX_PASSWORD_LENGTH + 1))).resolves.toBe(false);
    await expect(hasher.verify('$2b$12$notargon', 'pw')).resolves.toBe(false);
    await expect(hasher.verify('', 'pw')).resolves.toBe(false);
  });

  it('refuses to hash an empty or oversized password', async () => {
    await expect(hasher.hash('')).rejects.toThrow(InvalidMfaParametersError);
    await expect(hasher.hash('x'.repeat(MAX_PASSWORD_LENGTH + 1))).rejects.toThrow(InvalidMfaParametersError);
  });

  it('answers false for an unknown user after the same argon2id work as a real verification', async () => {
    await expect(hasher.verifyDummy('whatever')).resolves.toBe(false);
    const start = process.hrtime.bigint();
    await hasher.verifyDummy('wrong');
    // Not a benchmark: 19 MiB × 2 passes of argon2id cannot finish in under 5 ms, so the dummy did real work.
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeGreaterThan(5);
  });

  it('asks for a rehash when the stored parameters differ from the configured ones', async () => {
    const stronger = new PasswordHasher({ ...PASSWORD_ARGON2ID, passes: 3 });
    const current = await hasher.hash('pw');
    expect(hasher.needsRehash(current)).toBe(false);
    expect(stronger.needsRehash(current)).toBe(true);
    await expect(stronger.verify(current, 'pw')).resolves.toBe(true); // old hashes still verify until rehashed
    expect(stronger.needsRehash(await stronger.hash('pw'))).toBe(false);
    expect(hasher.needsRehash('$2b$12$legacy')).toBe(true);
  });

  it('refuses parameters below the OWASP baseline', () => {
    expect(() => new PasswordHasher({ ...PASSWORD_ARGON2ID, memoryKiB: 4096 })).toThrow(InvalidMfaParametersError);
  });
});
