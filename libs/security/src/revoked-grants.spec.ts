import { RevokedGrants } from './revoked-grants';

describe('RevokedGrants', () => {
  it('holds a grant for its keep time, then forgets it', () => {
    const clock = { now: 1_000 };
    const revoked = new RevokedGrants(900_000, 10, () => clock.now);
    revoked.add('g1');
    expect(revoked.has('g1')).toBe(true);
    expect(revoked.has('g2')).toBe(false);
    clock.now += 899_999;
    expect(revoked.has('g1')).toBe(true);
    clock.now += 1;
    expect(revoked.has('g1')).toBe(false);
    expect(revoked.size).toBe(0);
  });

  it('keeps at most its bound, dropping the oldest first, and refreshes a grant added again', () => {
    const clock = { now: 0 };
    const revoked = new RevokedGrants(60_000, 3, () => clock.now);
    for (const grant of ['a', 'b', 'c']) {
      revoked.add(grant);
      clock.now += 1;
    }
    revoked.add('a'); // now the newest
    revoked.add('d');
    expect(revoked.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].filter((grant) => revoked.has(grant))).toEqual(['a', 'c', 'd']);
  });
});
