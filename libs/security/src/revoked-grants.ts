/** Grants whose tokens must no longer be accepted (auth-service revoked them), as the guard asks. */
export interface RevokedGrantsView {
  has(grantId: string): boolean;
}

/**
 * Grant ids revoked recently, each kept for `keepMs` (an access token's lifetime plus clock tolerance:
 * after that, every token of the grant has expired anyway), at most `maxEntries` (the oldest go first).
 * Fed by the service's listener for auth-service's revocation events; read by TokenVerifier.
 */
export class RevokedGrants implements RevokedGrantsView {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly keepMs = (15 * 60 + 60) * 1000,
    private readonly maxEntries = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  add(grantId: string): void {
    this.until.delete(grantId); // re-inserted last: the map stays ordered by expiry
    this.until.set(grantId, this.clock() + this.keepMs);
    this.prune();
  }

  has(grantId: string): boolean {
    const until = this.until.get(grantId);
    if (until === undefined) return false;
    if (until > this.clock()) return true;
    this.until.delete(grantId);
    return false;
  }

  get size(): number {
    return this.until.size;
  }

  private prune(): void {
    const now = this.clock();
    for (const [grantId, until] of this.until) {
      if (until > now && this.until.size <= this.maxEntries) break;
      this.until.delete(grantId);
    }
  }
}
