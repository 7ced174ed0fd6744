import { errorCode, flipBit, LEAVES, MAX_LEAVES, notRejected, ROOTS, TREE_SIZES } from '../test/generated-tree';
import { consistencyProof, EMPTY_ROOT, rootFromLeafHashes, verifyConsistency } from './index';

describe('consistency proofs', () => {
  it.each(TREE_SIZES)('proves every earlier size of a %i-leaf tree consistent with it and rejects every tampered proof', (n) => {
    const leaves = LEAVES.slice(0, n);
    const newRoot = ROOTS[n] as Buffer;
    for (let m = 1; m <= n; m++) {
      const oldRoot = ROOTS[m] as Buffer;
      const proof = consistencyProof(leaves, m);
      expect(consistencyProof(LEAVES, m, n)).toEqual(proof);
      expect(errorCode(() => verifyConsistency(m, n, oldRoot, newRoot, proof))).toBeUndefined();
      expect(errorCode(() => verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, proof))).toBeUndefined();
      if (m === n) expect(proof).toEqual([]);

      const tamperings = [
        ...proof.map(
          (element, j) =>
            [
              `${m}->${n}: proof[${j}] bit flipped`,
              () => verifyConsistency(m, n, oldRoot, newRoot, proof.with(j, flipBit(element))),
            ] as const,
        ),
        [`${m}->${n}: old root bit flipped`, () => verifyConsistency(m, n, flipBit(oldRoot, 31), newRoot, proof)],
        [`${m}->${n}: new root bit flipped`, () => verifyConsistency(m, n, oldRoot, flipBit(newRoot, 31), proof)],
        [`${m}->${n}: old size - 1`, () => verifyConsistency(m - 1, n, oldRoot, newRoot, proof)],
        [`${m}->${n}: old size + 1`, () => verifyConsistency(m + 1, n, oldRoot, newRoot, proof)],
        // Not new size ± 1: as with inclusion, neighbouring sizes can share the path's shape.
        [`${m}->${n}: new size * 2`, () => verifyConsistency(m, n * 2, oldRoot, newRoot, proof)],
        [`${m}->${n}: new size / 2`, () => verifyConsistency(m, Math.floor(n / 2), oldRoot, newRoot, proof)],
        [`${m}->${n}: old size ^ 2`, () => verifyConsistency(m ^ 2, n, oldRoot, newRoot, proof)],
        [`${m}->${n}: proof with an extra hash`, () => verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot])],
        [`${m}->${n}: proof with a leading hash`, () => verifyConsistency(m, n, oldRoot, newRoot, [oldRoot, ...proof])],
        ...(m < n
          ? ([
              [`${m}->${n}: roots swapped`, () => verifyConsistency(m, n, newRoot, oldRoot, proof)],
              [`${m}->${n}: empty proof`, () => verifyConsistency(m, n, oldRoot, newRoot, [])],
              [`${m}->${n}: last hash dropped`, () => verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1))],
              [`${m}->${n}: a forked old tree`, () => verifyConsistency(m, n, forkedRoot(m), newRoot, proof)],
            ] as const)
          : ([
              [`${m}->${n}: different roots at equal sizes`, () => verifyConsistency(m, n, oldRoot, ROOTS[m - 1] as Buffer, [])],
            ] as const)),
      ] as const;
      expect(notRejected(tamperings, 'MERKLE.CONSISTENCY_INVALID')).toEqual([]);
    }
  });

  it('returns an empty proof from the empty tree, which the verifier refuses as proving nothing', () => {
    expect(consistencyProof(LEAVES, 0)).toEqual([]);
    expect(errorCode(() => verifyConsistency(0, MAX_LEAVES, EMPTY_ROOT, ROOTS[MAX_LEAVES] as Buffer, []))).toBe(
      'MERKLE.CONSISTENCY_INVALID',
    );
    expect(errorCode(() => verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []))).toBe('MERKLE.CONSISTENCY_INVALID');
  });

  it('refuses sizes outside the leaves it was given', () => {
    expect(errorCode(() => consistencyProof(LEAVES.slice(0, 4), 5))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => consistencyProof(LEAVES.slice(0, 4), 2, 5))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => consistencyProof(LEAVES.slice(0, 4), 3, 2))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => consistencyProof(LEAVES.slice(0, 4), 1.5))).toBe('MERKLE.BAD_INPUT');
  });

  it('refuses sizes that are not uint64 values as bad input', () => {
    const root = ROOTS[1] as Buffer;
    expect(errorCode(() => verifyConsistency(-1, 1, root, root, []))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => verifyConsistency(1, 2n ** 64n, root, root, []))).toBe('MERKLE.BAD_INPUT');
  });

  it('rejects a proof whose hashes are not 32 bytes even when the path length fits', () => {
    const proof = consistencyProof(LEAVES.slice(0, 5), 3);
    const truncatedElement = proof.with(0, (proof[0] as Buffer).subarray(0, 31));
    expect(errorCode(() => verifyConsistency(3, 5, ROOTS[3] as Buffer, ROOTS[5] as Buffer, truncatedElement))).toBe(
      'MERKLE.CONSISTENCY_INVALID',
    );
  });
});

/** Root of a tree of size m whose first leaf was rewritten: a log that forked before size m. */
function forkedRoot(m: number): Buffer {
  return rootFromLeafHashes([flipBit(LEAVES[0] as Buffer), ...LEAVES.slice(1, m)]);
}
