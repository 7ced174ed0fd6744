/**
 * Counts consecutive failures of a dependency. After `threshold` in a row it opens for `openMs`:
 * callers skip the dependency. Then one caller may try (half-open); its success closes the circuit,
 * its failure opens it again for another `openMs`.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get open(): boolean {
    return this.failures >= this.threshold;
  }

  /** Whether to call the dependency now; when open and the wait is over, lets exactly one caller through. */
  allowsRequest(): boolean {
    if (!this.open) return true;
    const now = this.now();
    if (now < this.openUntil) return false;
    this.openUntil = now + this.openMs; // the probe; everyone else keeps skipping until it answers or this passes
    return true;
  }

  succeeded(): void {
    this.failures = 0;
    this.openUntil = 0;
  }

  failed(): void {
    this.failures += 1;
    if (this.failures === this.threshold) this.openUntil = this.now() + this.openMs;
  }
}
