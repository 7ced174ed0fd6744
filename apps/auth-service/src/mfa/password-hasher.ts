import { randomBytes } from 'node:crypto';
import { argon2idHash, argon2idVerify, parseArgon2idPhc, sameArgon2idParameters, type Argon2idParameters } from './argon2id';
import { InvalidMfaParametersError } from './mfa.errors';

/**
 * Local-account password hashing: OWASP Password Storage Cheat Sheet's argon2id baseline
 * (m = 19 MiB, t = 2, p = 1), 128-bit salt, 256-bit tag. About 30 ms on one core of the CI machine.
 */
export const PASSWORD_ARGON2ID: Argon2idParameters = Object.freeze({
  memoryKiB: 19_456,
  passes: 2,
  parallelism: 1,
  saltBytes: 16,
  tagBytes: 32,
});

/** Longer inputs are refused: they are not passwords, and capping them bounds the work per attempt. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Hash, verify and upgrade passwords. Passwords are NFKC-normalised first (NIST SP 800-63B §5.1.1.2)
 * so the same password typed on different keyboards verifies. Hashes are PHC strings, readable by
 * any argon2 library.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly parameters: Argon2idParameters = PASSWORD_ARGON2ID) {
    if (
      parameters.memoryKiB < PASSWORD_ARGON2ID.memoryKiB ||
      parameters.passes < 1 ||
      parameters.saltBytes < 16 ||
      parameters.tagBytes < 16
    ) {
      throw new InvalidMfaParametersError('Password hashing parameters are below the OWASP argon2id minimum');
    }
  }

  async hash(password: string): Promise<string> {
    if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
      throw new InvalidMfaParametersError(`A password must be 1–${MAX_PASSWORD_LENGTH} characters`);
    }
    return argon2idHash(password.normalize('NFKC'), this.parameters);
  }

  /**
   * Whether `password` matches the stored hash. Input that cannot be a password and stored hashes that
   * cannot be parsed both cost a dummy verification, so the answer takes the same time either way.
   */
  async verify(storedHash: string, password: unknown): Promise<boolean> {
    if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH || parseArgon2idPhc(storedHash) === undefined) {
      return this.verifyDummy(password);
    }
    return argon2idVerify(storedHash, password.normalize('NFKC'));
  }

  /**
   * For a login name with no account (or no local password): does the same argon2id work as a real
   * verification and returns false, so response time does not reveal which accounts exist.
   */
  async verifyDummy(password: unknown): Promise<false> {
    this.dummyHash ??= argon2idHash(randomBytes(32), this.parameters);
    const candidate = typeof password === 'string' ? password.slice(0, MAX_PASSWORD_LENGTH).normalize('NFKC') : '';
    await argon2idVerify(await this.dummyHash, candidate);
    return false;
  }

  /** True when the stored hash was made with other parameters (or is unreadable); rehash after the next successful verify. */
  needsRehash(storedHash: string): boolean {
    const parsed = parseArgon2idPhc(storedHash);
    return parsed === undefined || !sameArgon2idParameters(parsed, this.parameters);
  }
}
