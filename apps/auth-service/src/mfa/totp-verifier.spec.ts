import { decodeTotpSecret, generateTotpSecret, totpAt, type TotpParameters } from './totp';
import { InMemoryTotpReplayStore, TotpVerifier, type TotpEnrollment, type TotpReplayStore } from './totp-verifier';

const parameters: TotpParameters = { algorithm: 'SHA1', digits: 6, period: 30 };

function setup(now = 1_764_000_000_000) {
  let clock = now;
  const enrollment: TotpEnrollment = { id: 'factor-1', secret: generateTotpSecret(), parameters };
  const store = new InMemoryTotpReplayStore();
  const verifier = new TotpVerifier(store, { clock: () => clock });
  const codeAt = (ms: number) => totpAt(decodeTotpSecret(enrollment.secret), ms / 1000, parameters);
  return { enrollment, store, verifier, codeAt, now: () => clock, advanceClock: (ms: number) => (clock += ms) };
}

describe('TotpVerifier', () => {
  it('accepts a valid code once and refuses the same code again within its window', async () => {
    const { enrollment, verifier, codeAt, now, advanceClock } = setup();
    const code = codeAt(now());
    await expect(verifier.verify(enrollment, code)).resolves.toMatchObject({ ok: true });
    await expect(verifier.verify(enrollment, code)).resolves.toEqual({ ok: false, reason: 'replayed' });
    advanceClock(30_000); // the code is now the previous step, still inside the ±1 window
    await expect(verifier.verify(enrollment, code)).resolves.toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses an older code after a newer one was accepted', async () => {
    const { enrollment, verifier, codeAt, now } = setup();
    const previous = codeAt(now() - 30_000);
    await expect(verifier.verify(enrollment, codeAt(now()))).resolves.toMatchObject({ ok: true });
    await expect(verifier.verify(enrollment, previous)).resolves.toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts the next code after the step has moved on', async () => {
    const { enrollment, verifier, codeAt, now, advanceClock } = setup();
    await verifier.verify(enrollment, codeAt(now()));
    advanceClock(30_000);
    await expect(verifier.verify(enrollment, codeAt(now()))).resolves.toMatchObject({ ok: true });
  });

  it('lets only one of two concurrent requests with the same code through', async () => {
    const { enrollment, verifier, codeAt, now } = setup();
    const code = codeAt(now());
    const results = await Promise.all([verifier.verify(enrollment, code), verifier.verify(enrollment, code)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'replayed' }]);
  });

  it('reports replayed when the store loses the compare-and-set race', async () => {
    const { enrollment, codeAt, now } = setup();
    const racing: TotpReplayStore = { lastAcceptedStep: () => Promise.resolve(null), advance: () => Promise.resolve(false) };
    await expect(new TotpVerifier(racing, { clock: now }).verify(enrollment, codeAt(now()))).resolves.toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('keeps replay state per enrollment', async () => {
    const { enrollment, verifier, codeAt, now } = setup();
    const other: TotpEnrollment = { ...enrollment, id: 'factor-2' };
    const code = codeAt(now());
    await verifier.verify(enrollment, code);
    await expect(verifier.verify(other, code)).resolves.toMatchObject({ ok: true });
  });

  it('does not burn a step on a wrong or malformed code', async () => {
    const { enrollment, store, verifier, codeAt, now } = setup();
    const wrong = String((Number(codeAt(now())) + 1) % 1_000_000).padStart(6, '0');
    await expect(verifier.verify(enrollment, wrong)).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(verifier.verify(enrollment, 'abcdef')).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(store.lastAcceptedStep(enrollment.id)).resolves.toBeNull();
  });
});
