import { randomBytes } from 'node:crypto';
import { argon2idHash, argon2idVerify, type Argon2idParameters } from './argon2id';
import { InvalidMfaParametersError } from './mfa.errors';

/**
 * Crockford base32: no I, L, O or U, so codes read aloud or copied by hand survive; on input I and L
 * read as 1 and O as 0.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 symbols × 5 bits = 80 bits per code, shown as four groups of four: `7K3M-QX9T-V2D8-0HRC`. */
const CODE_SYMBOLS = 16;
const GROUP = 4;

export const DEFAULT_RECOVERY_CODE_COUNT = 10;

/**
 * Argon2id for recovery codes. The codes carry 80 random bits, so the hash is not there to stretch a
 * guessable secret (2^79 guesses on average even against a bare SHA-256) but to keep a database read
 * from yielding usable codes. Lighter than the password profile because a redemption checks every
 * unused code: 8 MiB, 1 pass, about 5 ms each, about 50 ms for ten.
 */
export const RECOVERY_CODE_ARGON2ID: Argon2idParameters = Object.freeze({
  memoryKiB: 8192,
  passes: 1,
  parallelism: 1,
  saltBytes: 16,
  tagBytes: 32,
});

/** `count` fresh codes, formatted for display. Show them once; store only `hashRecoveryCode` of each. */
export function generateRecoveryCodes(count = DEFAULT_RECOVERY_CODE_COUNT): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 32) throw new InvalidMfaParametersError('Between 1 and 32 recovery codes');
  return Array.from({ length: count }, () => {
    // 256 is a multiple of 32, so masking each byte to 5 bits is unbiased.
    const symbols = [...randomBytes(CODE_SYMBOLS)].map((byte) => ALPHABET[byte & 31]).join('');
    return symbols.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-');
  });
}

/** Canonical form of a typed code (case, dashes, spaces, Crockford look-alikes), or undefined if it cannot be one. */
export function normaliseRecoveryCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const compact = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (compact.length !== CODE_SYMBOLS || [...compact].some((char) => !ALPHABET.includes(char))) return undefined;
  return compact;
}

export async function hashRecoveryCode(code: string, parameters: Argon2idParameters = RECOVERY_CODE_ARGON2ID): Promise<string> {
  const canonical = normaliseRecoveryCode(code);
  if (canonical === undefined) throw new InvalidMfaParametersError('Not a recovery code');
  return argon2idHash(canonical, parameters);
}

export interface StoredRecoveryCode {
  readonly id: string;
  /** argon2id PHC string of the canonical code. */
  readonly hash: string;
}

/** Port: hashed recovery codes per account. */
export interface RecoveryCodeStore {
  /** Drops every code the account had and stores these hashes (regeneration invalidates the old set). */
  replaceAll(accountId: string, hashes: readonly string[]): Promise<void>;
  listUnused(accountId: string): Promise<readonly StoredRecoveryCode[]>;
  /**
   * Marks one code used if it still is unused; false if it was already used (a concurrent redemption).
   * Atomic: `UPDATE recovery_code SET used_at = now() WHERE id = $1 AND account_id = $2 AND used_at IS NULL`.
   */
  markUsed(accountId: string, codeId: string): Promise<boolean>;
}

export type RecoveryCodeRedemption =
  { readonly ok: true; readonly remaining: number } | { readonly ok: false; readonly reason: 'malformed' | 'invalid' };

/** Issue and redeem single-use recovery codes. Throttle redemptions like TOTP attempts. */
export class RecoveryCodes {
  constructor(
    private readonly store: RecoveryCodeStore,
    private readonly parameters: Argon2idParameters = RECOVERY_CODE_ARGON2ID,
    private readonly count = DEFAULT_RECOVERY_CODE_COUNT,
  ) {}

  /** A new set replacing any previous one; the plaintext codes exist only in the return value. */
  async issue(accountId: string): Promise<string[]> {
    const codes = generateRecoveryCodes(this.count);
    const hashes: string[] = [];
    for (const code of codes) hashes.push(await hashRecoveryCode(code, this.parameters));
    await this.store.replaceAll(accountId, hashes);
    return codes;
  }

  /**
   * Checks the input against every unused code, without stopping at a match, so the time taken does
   * not say which code matched; the tag comparison itself is constant-time. A match is burnt atomically.
   */
  async redeem(accountId: string, input: unknown): Promise<RecoveryCodeRedemption> {
    const canonical = normaliseRecoveryCode(input);
    if (canonical === undefined) return { ok: false, reason: 'malformed' };
    const unused = await this.store.listUnused(accountId);
    let match: StoredRecoveryCode | undefined;
    for (const stored of unused) {
      // Sequential: ten 8 MiB derivations at once would take ten thread-pool slots and 80 MiB.
      if ((await argon2idVerify(stored.hash, canonical)) && match === undefined) match = stored;
    }
    if (match === undefined || !(await this.store.markUsed(accountId, match.id))) return { ok: false, reason: 'invalid' };
    return { ok: true, remaining: unused.length - 1 };
  }
}

export class InMemoryRecoveryCodeStore implements RecoveryCodeStore {
  private readonly codes = new Map<string, { id: string; hash: string; used: boolean }[]>();
  private nextId = 1;

  replaceAll(accountId: string, hashes: readonly string[]): Promise<void> {
    this.codes.set(
      accountId,
      hashes.map((hash) => ({ id: String(this.nextId++), hash, used: false })),
    );
    return Promise.resolve();
  }

  listUnused(accountId: string): Promise<readonly StoredRecoveryCode[]> {
    return Promise.resolve((this.codes.get(accountId) ?? []).filter((code) => !code.used).map(({ id, hash }) => ({ id, hash })));
  }

  markUsed(accountId: string, codeId: string): Promise<boolean> {
    const code = this.codes.get(accountId)?.find((candidate) => candidate.id === codeId);
    if (code === undefined || code.used) return Promise.resolve(false);
    code.used = true;
    return Promise.resolve(true);
  }
}
