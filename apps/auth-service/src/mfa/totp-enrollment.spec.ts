import { decodeTotpSecret, totpAt } from './totp';
import { confirmTotpEnrollment, startTotpEnrollment, TOTP_ENROLLMENT_TTL_MS } from './totp-enrollment';
import { InMemoryTotpReplayStore, TotpVerifier } from './totp-verifier';

const now = 1_764_000_000_000;

describe('TOTP enrollment', () => {
  it('starts with a fresh 160-bit secret and a Key URI that carries it', () => {
    const pending = startTotpEnrollment({ issuer: 'Traceo', accountName: 'alice@example.com', now });
    expect(decodeTotpSecret(pending.secret)).toHaveLength(20);
    const url = new URL(pending.uri);
    expect(url.searchParams.get('secret')).toBe(pending.secret);
    expect(url.searchParams.get('issuer')).toBe('Traceo');
    expect(pending.parameters).toEqual({ algorithm: 'SHA1', digits: 6, period: 30 });
    expect(pending.expiresAt).toBe(now + TOTP_ENROLLMENT_TTL_MS);
  });

  it('gives every enrollment its own secret', () => {
    const a = startTotpEnrollment({ issuer: 'Traceo', accountName: 'alice', now });
    const b = startTotpEnrollment({ issuer: 'Traceo', accountName: 'alice', now });
    expect(a.secret).not.toBe(b.secret);
  });

  it('confirms with the first valid code and returns its step to seed replay protection', async () => {
    const pending = startTotpEnrollment({ issuer: 'Traceo', accountName: 'alice', now });
    const code = totpAt(decodeTotpSecret(pending.secret), now / 1000 + 60, pending.parameters);
    const confirmed = confirmTotpEnrollment(pending, code, now + 60_000);
    expect(confirmed).toEqual({
      ok: true,
      secret: pending.secret,
      parameters: pending.parameters,
      lastUsedStep: Math.floor((now + 60_000) / 30_000),
    });
    if (!confirmed.ok) return;

    // The same code cannot then be used to sign in.
    const store = new InMemoryTotpReplayStore();
    await store.advance('factor', confirmed.lastUsedStep);
    const verifier = new TotpVerifier(store, { clock: () => now + 60_000 });
    await expect(verifier.verify({ id: 'factor', secret: confirmed.secret, parameters: confirmed.parameters }, code)).resolves.toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses a wrong code, a malformed code and an expired enrollment', () => {
    const pending = startTotpEnrollment({ issuer: 'Traceo', accountName: 'alice', now });
    const code = totpAt(decodeTotpSecret(pending.secret), now / 1000, pending.parameters);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    expect(confirmTotpEnrollment(pending, wrong, now)).toEqual({ ok: false, reason: 'invalid' });
    expect(confirmTotpEnrollment(pending, 'code', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(confirmTotpEnrollment(pending, code, pending.expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('enrolls with SHA-256 and 8 digits when asked', () => {
    const pending = startTotpEnrollment({
      issuer: 'Traceo',
      accountName: 'alice',
      now,
      parameters: { algorithm: 'SHA256', digits: 8, period: 30 },
    });
    expect(decodeTotpSecret(pending.secret)).toHaveLength(32);
    const code = totpAt(decodeTotpSecret(pending.secret), now / 1000, pending.parameters);
    expect(confirmTotpEnrollment(pending, code, now)).toMatchObject({ ok: true });
  });
});
