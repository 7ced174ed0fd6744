import { parseArgon2idPhc } from './argon2id';
import { InvalidMfaParametersError } from './mfa.errors';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  InMemoryRecoveryCodeStore,
  normaliseRecoveryCode,
  RECOVERY_CODE_ARGON2ID,
  RecoveryCodes,
} from './recovery-codes';

describe('recovery codes', () => {
  it('generates ten distinct 80-bit codes in four dash-separated groups', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  });

  it('uses every symbol of the alphabet over many codes (no bias towards a subset)', () => {
    const symbols = new Set(generateRecoveryCodes(32).join('').replace(/-/g, ''));
    expect(symbols.size).toBeGreaterThan(28);
  });

  it('normalises case, dashes, spaces and Crockford look-alikes', () => {
    expect(normaliseRecoveryCode('7k3m-qx9t-v2d8-0hrc')).toBe('7K3MQX9TV2D80HRC');
    expect(normaliseRecoveryCode(' 7K3M QX9T V2D8 OHRC ')).toBe('7K3MQX9TV2D80HRC');
    expect(normaliseRecoveryCode('ilo0-1111-2222-3333')).toBe('1100111122223333');
  });

  it.each([
    ['7K3M-QX9T-V2D8'],
    ['7K3M-QX9T-V2D8-0HRCX'],
    ['7K3M-QX9T-V2D8-0HRU'],
    ['7K3M_QX9T_V2D8_0HRC'],
    [''],
    [42],
    [null],
    ['x'.repeat(10_000)],
  ])('treats %j as malformed', (input) => {
    expect(normaliseRecoveryCode(input)).toBeUndefined();
  });

  it('hashes the canonical code with the documented argon2id parameters', async () => {
    const hash = await hashRecoveryCode('7K3M-QX9T-V2D8-0HRC');
    expect(parseArgon2idPhc(hash)).toMatchObject(RECOVERY_CODE_ARGON2ID);
    expect(hash).not.toContain('7K3M');
    await expect(hashRecoveryCode('nope')).rejects.toThrow(InvalidMfaParametersError);
  });
});

describe('RecoveryCodes', () => {
  async function issued() {
    const store = new InMemoryRecoveryCodeStore();
    const recovery = new RecoveryCodes(store);
    const codes = await recovery.issue('alice');
    return { store, recovery, codes };
  }

  it('stores only hashes', async () => {
    const { store, codes } = await issued();
    const stored = await store.listUnused('alice');
    expect(stored).toHaveLength(10);
    for (const { hash } of stored) {
      expect(hash).toMatch(/^\$argon2id\$/);
      for (const code of codes) expect(hash).not.toContain(code.replace(/-/g, ''));
    }
  });

  it('redeems a code once, typed in any case and grouping, and counts what is left', async () => {
    const { recovery, codes } = await issued();
    const code = codes[3]!;
    await expect(recovery.redeem('alice', code.toLowerCase().replace(/-/g, ' '))).resolves.toEqual({ ok: true, remaining: 9 });
    await expect(recovery.redeem('alice', code)).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(recovery.redeem('alice', codes[4])).resolves.toEqual({ ok: true, remaining: 8 });
  });

  it("refuses another account's code, an unknown code and malformed input", async () => {
    const { store, recovery, codes } = await issued();
    await recovery.issue('bob');
    await expect(recovery.redeem('bob', codes[0])).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(recovery.redeem('alice', '0000-0000-0000-0000')).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(recovery.redeem('alice', 'letmein')).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(store.listUnused('alice')).resolves.toHaveLength(10);
  });

  it('invalidates the previous set when new codes are issued', async () => {
    const { recovery, codes } = await issued();
    const fresh = await recovery.issue('alice');
    await expect(recovery.redeem('alice', codes[0])).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(recovery.redeem('alice', fresh[0])).resolves.toEqual({ ok: true, remaining: 9 });
  });

  it('lets only one of two concurrent redemptions of the same code through', async () => {
    const { recovery, codes } = await issued();
    const results = await Promise.all([recovery.redeem('alice', codes[0]), recovery.redeem('alice', codes[0])]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
  });
});
