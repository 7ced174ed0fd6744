import { randomFillSync } from 'node:crypto';

/** Nonces per refill: one CSPRNG call serves this many encryptions (a call costs ~4 µs, a 12-byte copy ~0.02). */
const NONCES_PER_REFILL = 1024;

/**
 * Random nonces cut from a pooled CSPRNG buffer. Each refill is fresh `randomFillSync` output and each
 * byte of it is handed out once (then zeroed), so a nonce is exactly as random and as unlikely to repeat
 * as one from its own `randomBytes` call: the pool changes the cost, not the distribution. The pool is
 * module state, so each thread (worker) and process has its own, filled from OpenSSL's DRBG.
 */
export class NoncePool {
  private readonly pool: Buffer;
  private offset: number;

  constructor(private readonly nonceLength: number) {
    this.pool = Buffer.allocUnsafeSlow(nonceLength * NONCES_PER_REFILL);
    this.offset = this.pool.length;
  }

  /** Writes the next nonce into `target` at `at` and answers it as a view of `target`. */
  writeNext(target: Buffer, at: number): Buffer {
    if (this.offset + this.nonceLength > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const end = this.offset + this.nonceLength;
    this.pool.copy(target, at, this.offset, end);
    this.pool.fill(0, this.offset, end);
    this.offset = end;
    return target.subarray(at, at + this.nonceLength);
  }
}
