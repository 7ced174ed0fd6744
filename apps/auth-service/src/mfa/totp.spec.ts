import { base32Encode } from './base32';
import { InvalidMfaParametersError, InvalidTotpSecretError } from './mfa.errors';
import {
  checkTotp,
  decodeTotpSecret,
  dynamicTruncate,
  generateTotpSecret,
  hotp,
  totpAt,
  type TotpAlgorithm,
  type TotpParameters,
} from './totp';
import { createHmac } from 'node:crypto';

// RFC 4226 Appendix D and RFC 6238 Appendix B are tables inside the RFC text, not data files; they are
// transcribed here verbatim (the shared test-vectors directory has no RFC 4226/6238 set).

/** RFC 4226 Appendix D: secret "12345678901234567890", HOTP-SHA1, 6 digits. */
const RFC4226_SECRET = Buffer.from('12345678901234567890', 'ascii');
const RFC4226_VECTORS: ReadonlyArray<{ count: number; truncatedHex: string; truncated: number; hotp: string }> = [
  { count: 0, truncatedHex: '4c93cf18', truncated: 1284755224, hotp: '755224' },
  { count: 1, truncatedHex: '41397eea', truncated: 1094287082, hotp: '287082' },
  { count: 2, truncatedHex: '82fef30', truncated: 137359152, hotp: '359152' },
  { count: 3, truncatedHex: '66ef7655', truncated: 1726969429, hotp: '969429' },
  { count: 4, truncatedHex: '61c5938a', truncated: 1640338314, hotp: '338314' },
  { count: 5, truncatedHex: '33c083d4', truncated: 868254676, hotp: '254676' },
  { count: 6, truncatedHex: '7256c032', truncated: 1918287922, hotp: '287922' },
  { count: 7, truncatedHex: '4e5b397', truncated: 82162583, hotp: '162583' },
  { count: 8, truncatedHex: '2823443f', truncated: 673399871, hotp: '399871' },
  { count: 9, truncatedHex: '2679dc69', truncated: 645520489, hotp: '520489' },
];

/** RFC 6238 Appendix B: one seed per hash (the ASCII digits repeated to the HMAC block length used there), 8 digits, X = 30, T0 = 0. */
const RFC6238_SEEDS: Readonly<Record<TotpAlgorithm, Buffer>> = {
  SHA1: Buffer.from('12345678901234567890', 'ascii'),
  SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};
const RFC6238_VECTORS: ReadonlyArray<{ time: number; step: string; algorithm: TotpAlgorithm; totp: string }> = [
  { time: 59, step: '0000000000000001', algorithm: 'SHA1', totp: '94287082' },
  { time: 59, step: '0000000000000001', algorithm: 'SHA256', totp: '46119246' },
  { time: 59, step: '0000000000000001', algorithm: 'SHA512', totp: '90693936' },
  { time: 1111111109, step: '00000000023523EC', algorithm: 'SHA1', totp: '07081804' },
  { time: 1111111109, step: '00000000023523EC', algorithm: 'SHA256', totp: '68084774' },
  { time: 1111111109, step: '00000000023523EC', algorithm: 'SHA512', totp: '25091201' },
  { time: 1111111111, step: '00000000023523ED', algorithm: 'SHA1', totp: '14050471' },
  { time: 1111111111, step: '00000000023523ED', algorithm: 'SHA256', totp: '67062674' },
  { time: 1111111111, step: '00000000023523ED', algorithm: 'SHA512', totp: '99943326' },
  { time: 1234567890, step: '000000000273EF07', algorithm: 'SHA1', totp: '89005924' },
  { time: 1234567890, step: '000000000273EF07', algorithm: 'SHA256', totp: '91819424' },
  { time: 1234567890, step: '000000000273EF07', algorithm: 'SHA512', totp: '93441116' },
  { time: 2000000000, step: '0000000003F940AA', algorithm: 'SHA1', totp: '69279037' },
  { time: 2000000000, step: '0000000003F940AA', algorithm: 'SHA256', totp: '90698825' },
  { time: 2000000000, step: '0000000003F940AA', algorithm: 'SHA512', totp: '38618901' },
  { time: 20000000000, step: '0000000027BC86AA', algorithm: 'SHA1', totp: '65353130' },
  { time: 20000000000, step: '0000000027BC86AA', algorithm: 'SHA256', totp: '77737706' },
  { time: 20000000000, step: '0000000027BC86AA', algorithm: 'SHA512', totp: '47863826' },
];

let vectorsRun = 0;
afterAll(() => {
  // 10 HOTP + 18 TOTP generation + 18 TOTP verification cases.
  console.info(`RFC 4226/6238 vectors asserted: ${vectorsRun}`);
});

describe('HOTP (RFC 4226 Appendix D)', () => {
  it.each(RFC4226_VECTORS)(
    'count $count yields truncated $truncated and HOTP $hotp',
    ({ count, truncatedHex, truncated, hotp: expected }) => {
      const counter = Buffer.alloc(8);
      counter.writeBigUInt64BE(BigInt(count));
      const value = dynamicTruncate(createHmac('sha1', RFC4226_SECRET).update(counter).digest());
      expect(value.toString(16)).toBe(truncatedHex);
      expect(value).toBe(truncated);
      expect(hotp(RFC4226_SECRET, count, 6)).toBe(expected);
      vectorsRun++;
    },
  );
});

describe('TOTP (RFC 6238 Appendix B)', () => {
  const parameters = (algorithm: TotpAlgorithm): TotpParameters => ({ algorithm, digits: 8, period: 30 });

  it.each(RFC6238_VECTORS)('$algorithm at $time s (T = $step) yields $totp', ({ time, step, algorithm, totp }) => {
    expect(
      Math.floor(time / 30)
        .toString(16)
        .toUpperCase()
        .padStart(16, '0'),
    ).toBe(step);
    expect(totpAt(RFC6238_SEEDS[algorithm], time, parameters(algorithm))).toBe(totp);
    vectorsRun++;
  });

  it.each(RFC6238_VECTORS)('accepts $totp for $algorithm at $time s through the verifier', ({ time, step, algorithm, totp }) => {
    const result = checkTotp({
      secret: base32Encode(RFC6238_SEEDS[algorithm]),
      parameters: parameters(algorithm),
      code: totp,
      now: time * 1000,
      window: 0,
    });
    expect(result).toEqual({ ok: true, step: Number.parseInt(step, 16) });
    vectorsRun++;
  });
});

describe('checkTotp', () => {
  const parameters: TotpParameters = { algorithm: 'SHA1', digits: 6, period: 30 };
  const secret = generateTotpSecret();
  const key = decodeTotpSecret(secret);
  const now = 1_764_000_015_000; // 15 s into step 58 800 000
  const step = Math.floor(now / 30_000);
  const codeAt = (s: number) => hotp(key, s, 6);

  it('accepts the current code and returns its time step', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step), now })).toEqual({ ok: true, step });
  });

  it('accepts the previous and next step with the default ±1 window', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step - 1), now })).toEqual({ ok: true, step: step - 1 });
    expect(checkTotp({ secret, parameters, code: codeAt(step + 1), now })).toEqual({ ok: true, step: step + 1 });
  });

  it('refuses codes two steps away with the default window', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step - 2), now })).toEqual({ ok: false, reason: 'invalid' });
    expect(checkTotp({ secret, parameters, code: codeAt(step + 2), now })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts two steps away when the window is widened to 2', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step - 2), now, window: 2 })).toEqual({ ok: true, step: step - 2 });
  });

  it('accepts only the current step with window 0', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step - 1), now, window: 0 })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('treats the last millisecond of a step and the first of the next as different steps', () => {
    const lastMs = (step + 1) * 30_000 - 1;
    expect(checkTotp({ secret, parameters, code: codeAt(step - 1), now: lastMs })).toEqual({ ok: true, step: step - 1 });
    expect(checkTotp({ secret, parameters, code: codeAt(step - 1), now: lastMs + 1 })).toEqual({ ok: false, reason: 'invalid' });
    expect(checkTotp({ secret, parameters, code: codeAt(step + 2), now: lastMs + 1 })).toEqual({ ok: true, step: step + 2 });
  });

  it('refuses a code at or before the last used step as a replay', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step), now, lastUsedStep: step })).toEqual({ ok: false, reason: 'replayed' });
    expect(checkTotp({ secret, parameters, code: codeAt(step - 1), now, lastUsedStep: step })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts a later code after an earlier step was used', () => {
    expect(checkTotp({ secret, parameters, code: codeAt(step + 1), now, lastUsedStep: step })).toEqual({ ok: true, step: step + 1 });
  });

  it('ignores spaces people type between digit groups', () => {
    const code = codeAt(step);
    expect(checkTotp({ secret, parameters, code: `${code.slice(0, 3)} ${code.slice(3)}`, now })).toEqual({ ok: true, step });
  });

  it.each([
    ['empty', ''],
    ['too short', '12345'],
    ['too long', '1234567'],
    ['letters', '12a456'],
    ['unicode digits', '١٢٣٤٥٦'],
    ['signs', '+12345'],
    ['huge input', '1'.repeat(10_000)],
    ['a number', 123456],
    ['null', null],
    ['undefined', undefined],
    ['an object', { code: '123456' }],
  ])('refuses %s as malformed without throwing', (_label, code) => {
    expect(checkTotp({ secret, parameters, code, now })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('checks 8-digit SHA-512 codes', () => {
    const strong: TotpParameters = { algorithm: 'SHA512', digits: 8, period: 30 };
    const strongSecret = generateTotpSecret('SHA512');
    const code = totpAt(decodeTotpSecret(strongSecret), now / 1000, strong);
    expect(code).toMatch(/^\d{8}$/);
    expect(checkTotp({ secret: strongSecret, parameters: strong, code, now })).toEqual({ ok: true, step });
  });

  it('rejects unsupported parameters and windows as configuration errors', () => {
    expect(() => checkTotp({ secret, parameters: { ...parameters, digits: 5 }, code: '12345', now })).toThrow(InvalidMfaParametersError);
    expect(() => checkTotp({ secret, parameters: { ...parameters, digits: 9 }, code: '123456789', now })).toThrow(
      InvalidMfaParametersError,
    );
    expect(() => checkTotp({ secret, parameters: { ...parameters, algorithm: 'MD5' as TotpAlgorithm }, code: '123456', now })).toThrow(
      InvalidMfaParametersError,
    );
    expect(() => checkTotp({ secret, parameters, code: '123456', now, window: 11 })).toThrow(InvalidMfaParametersError);
  });

  it('rejects a stored secret that is not base32 or is shorter than 128 bits', () => {
    expect(() => checkTotp({ secret: 'not base32!', parameters, code: '123456', now })).toThrow(InvalidTotpSecretError);
    expect(() => checkTotp({ secret: base32Encode(Buffer.alloc(10, 1)), parameters, code: '123456', now })).toThrow(InvalidTotpSecretError);
  });
});

describe('generateTotpSecret', () => {
  it.each([
    ['SHA1', 20],
    ['SHA256', 32],
    ['SHA512', 64],
  ] as const)('gives %s a %i-byte base32 secret without padding', (algorithm, bytes) => {
    const secret = generateTotpSecret(algorithm);
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    expect(decodeTotpSecret(secret)).toHaveLength(bytes);
  });

  it('never repeats', () => {
    expect(new Set(Array.from({ length: 100 }, () => generateTotpSecret())).size).toBe(100);
  });
});
