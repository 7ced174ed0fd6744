import { checkTotp, DEFAULT_TOTP_WINDOW, type TotpCheckResult, type TotpParameters } from './totp';

/** An active TOTP factor as the auth service stores it (the secret encrypted at rest, decrypted for the check). */
export interface TotpEnrollment {
  readonly id: string;
  /** Base32 secret. */
  readonly secret: string;
  readonly parameters: TotpParameters;
}

/**
 * Port: the last accepted time step per enrollment, the state replay protection needs. `advance` must
 * be an atomic compare-and-set so two concurrent requests carrying the same code cannot both win, e.g.
 * `UPDATE totp_factor SET last_used_step = $2 WHERE id = $1 AND (last_used_step IS NULL OR last_used_step < $2)`
 * and return whether a row changed.
 */
export interface TotpReplayStore {
  lastAcceptedStep(enrollmentId: string): Promise<number | null>;
  /** Stores `step` if it is greater than the stored one; false if it is not (a concurrent or earlier use). */
  advance(enrollmentId: string, step: number): Promise<boolean>;
}

export class InMemoryTotpReplayStore implements TotpReplayStore {
  private readonly steps = new Map<string, number>();

  lastAcceptedStep(enrollmentId: string): Promise<number | null> {
    return Promise.resolve(this.steps.get(enrollmentId) ?? null);
  }

  advance(enrollmentId: string, step: number): Promise<boolean> {
    const last = this.steps.get(enrollmentId);
    if (last !== undefined && last >= step) return Promise.resolve(false);
    this.steps.set(enrollmentId, step);
    return Promise.resolve(true);
  }
}

export interface TotpVerifierOptions {
  /** Steps accepted either side of the current one; default 1. */
  readonly window?: number;
  /** Unix milliseconds; injectable for tests. */
  readonly clock?: () => number;
}

/**
 * Verifies a code for an enrollment and burns its time step: once a step is accepted, that step and
 * every earlier one are refused for the enrollment, whatever the drift window would allow.
 * Attempt throttling is the caller's job (see LoginThrottle with MFA_THROTTLE_POLICY).
 */
export class TotpVerifier {
  private readonly window: number;
  private readonly clock: () => number;

  constructor(
    private readonly store: TotpReplayStore,
    options: TotpVerifierOptions = {},
  ) {
    this.window = options.window ?? DEFAULT_TOTP_WINDOW;
    this.clock = options.clock ?? Date.now;
  }

  async verify(enrollment: TotpEnrollment, code: unknown): Promise<TotpCheckResult> {
    const lastUsedStep = await this.store.lastAcceptedStep(enrollment.id);
    const result = checkTotp({
      secret: enrollment.secret,
      parameters: enrollment.parameters,
      code,
      now: this.clock(),
      window: this.window,
      lastUsedStep,
    });
    if (!result.ok) return result;
    return (await this.store.advance(enrollment.id, result.step)) ? result : { ok: false, reason: 'replayed' };
  }
}
