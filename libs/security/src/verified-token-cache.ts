import { createHash } from 'node:crypto';
import type { Principal } from './principal';

interface Entry {
  readonly principal: Principal;
  /** Epoch ms after which the entry is not used: the token's own expiry, or the cache TTL if sooner. */
  readonly until: number;
}

/**
 * Remembers tokens that verified, so a client reusing its access token (the normal case) does not
 * pay a signature check per request. Keyed by the token's SHA-256 (tokens are not kept in memory);
 * an entry never outlives the token's `exp` nor `ttlMs`, which bounds how long a token signed by a
 * key that was withdrawn from the JWKS keeps working. Only successful verifications are stored, and
 * at most `maxEntries` of them (oldest evicted first).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  /** A fresh copy of the cached principal (callers may not share mutable state), or undefined. */
  get(token: string, now = Date.now()): Principal | undefined {
    if (!this.enabled) return undefined;
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.until) {
      this.entries.delete(key);
      return undefined;
    }
    return { ...entry.principal, permissions: new Set(entry.principal.permissions) };
  }

  /** `expiresAtMs`: the token's `exp` plus the clock tolerance the verifier allows. */
  set(token: string, principal: Principal, expiresAtMs: number, now = Date.now()): void {
    if (!this.enabled) return;
    const until = Math.min(expiresAtMs, now + this.ttlMs);
    if (until <= now) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(keyOf(token), { principal: { ...principal, permissions: new Set(principal.permissions) }, until });
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
