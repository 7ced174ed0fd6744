import { flipBit, errorCode, LEAVES, notRejected, ROOTS, TREE_SIZES } from '../test/generated-tree';
import { inclusionProof, leafHash, rootFromInclusionProof, verifyInclusion } from './index';

const OUTSIDER = leafHash(Buffer.from('not in the tree'));

describe('inclusion proofs', () => {
  it.each(TREE_SIZES)('proves every leaf of a %i-leaf tree and rejects every tampered proof', (n) => {
    const leaves = LEAVES.slice(0, n);
    const root = ROOTS[n] as Buffer;
    for (let i = 0; i < n; i++) {
      const leaf = leaves[i] as Buffer;
      const proof = inclusionProof(leaves, i);
      expect(errorCode(() => verifyInclusion(i, n, leaf, proof, root))).toBeUndefined();
      expect(rootFromInclusionProof(BigInt(i), BigInt(n), leaf, proof)).toEqual(root);

      const tamperings = [
        ...proof.map(
          (element, j) =>
            [`leaf ${i}: proof[${j}] bit flipped`, () => verifyInclusion(i, n, leaf, proof.with(j, flipBit(element)), root)] as const,
        ),
        [`leaf ${i}: root bit flipped`, () => verifyInclusion(i, n, leaf, proof, flipBit(root, 31))],
        [`leaf ${i}: leaf hash bit flipped`, () => verifyInclusion(i, n, flipBit(leaf), proof, root)],
        [`leaf ${i}: a leaf not in the tree`, () => verifyInclusion(i, n, OUTSIDER, proof, root)],
        [`leaf ${i}: index + 1`, () => verifyInclusion(i + 1, n, leaf, proof, root)],
        // Go's uint64 probe: index 0 - 1 wraps to 2^64 - 1.
        [`leaf ${i}: index - 1`, () => verifyInclusion(i === 0 ? 2n ** 64n - 1n : i - 1, n, leaf, proof, root)],
        // Not size ± 1: neighbouring sizes can share a path's shape (see the test below).
        [`leaf ${i}: tree size * 2`, () => verifyInclusion(i, n * 2, leaf, proof, root)],
        [`leaf ${i}: tree size / 2`, () => verifyInclusion(i, Math.floor(n / 2), leaf, proof, root)],
        [`leaf ${i}: root of the previous size`, () => verifyInclusion(i, n, leaf, proof, ROOTS[n - 1] as Buffer)],
        [`leaf ${i}: proof with an extra hash`, () => verifyInclusion(i, n, leaf, [...proof, root], root)],
        [`leaf ${i}: proof with a leading hash`, () => verifyInclusion(i, n, leaf, [leaf, ...proof], root)],
        ...(proof.length > 0
          ? [[`leaf ${i}: last hash dropped`, () => verifyInclusion(i, n, leaf, proof.slice(0, -1), root)] as const]
          : []),
      ] as const;
      expect(notRejected(tamperings, 'MERKLE.INCLUSION_INVALID')).toEqual([]);
    }
  });

  // The root does not commit to the tree size: a size is bound to a proof only through the shape of
  // the path, which neighbouring sizes can share. The size must come from the signed checkpoint.
  it('accepts a proof at another size when the path has the same shape there', () => {
    const proofIn64 = inclusionProof(LEAVES, 0);
    expect(errorCode(() => verifyInclusion(0, 63, LEAVES[0] as Buffer, proofIn64, ROOTS[64] as Buffer))).toBeUndefined();
  });

  it('accepts indices and sizes as bigints as well as numbers', () => {
    const proof = inclusionProof(LEAVES, 37);
    expect(errorCode(() => verifyInclusion(37n, 64n, LEAVES[37] as Buffer, proof, ROOTS[64] as Buffer))).toBeUndefined();
  });

  it('rejects the uint64 index 2^64 - 1 as beyond the tree, not as malformed', () => {
    const leaf = LEAVES[0] as Buffer;
    expect(errorCode(() => verifyInclusion(2n ** 64n - 1n, 1, leaf, [], leaf))).toBe('MERKLE.INCLUSION_INVALID');
  });

  it.each([
    ['a negative index', -1, 1],
    ['a fractional index', 0.5, 1],
    ['a number beyond 2^53', 0, 2 ** 53],
    ['a bigint beyond uint64', 0n, 2n ** 64n],
  ] as const)('refuses %s as bad input', (_case, index, size) => {
    const leaf = LEAVES[0] as Buffer;
    expect(errorCode(() => verifyInclusion(index, size, leaf, [], leaf))).toBe('MERKLE.BAD_INPUT');
  });

  it('refuses to prove a leaf outside the tree', () => {
    expect(errorCode(() => inclusionProof([], 0))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => inclusionProof(LEAVES.slice(0, 3), 3))).toBe('MERKLE.BAD_INPUT');
    expect(errorCode(() => inclusionProof(LEAVES.slice(0, 3), -1))).toBe('MERKLE.BAD_INPUT');
  });

  it('refuses leaves that are not 32-byte hashes', () => {
    expect(errorCode(() => inclusionProof([LEAVES[0] as Buffer, Buffer.from('short')], 0))).toBe('MERKLE.BAD_INPUT');
  });

  // The proof length is derived with bit tricks; check it against the RFC's recursive PATH for
  // 64-bit positions, where a double would already have lost precision.
  it.each([
    [2n ** 40n + 5n, 2n ** 41n + 3n],
    [2n ** 63n, 2n ** 64n - 1n],
    [2n ** 64n - 2n, 2n ** 64n - 1n],
    [12345678901234567n, 98765432109876543n],
  ])('takes exactly the RFC path length for leaf %s of %s', (index, size) => {
    const accepted = Array.from({ length: 70 }, (_, length) => length).filter(
      (length) => errorCode(() => rootFromInclusionProof(index, size, LEAVES[0] as Buffer, Array(length).fill(LEAVES[1]))) === undefined,
    );
    expect(accepted).toEqual([rfcPathLength(index, size)]);
  });
});

function rfcPathLength(index: bigint, size: bigint): number {
  if (size <= 1n) return 0;
  let k = 1n;
  while (k * 2n < size) k *= 2n;
  return 1 + (index < k ? rfcPathLength(index, k) : rfcPathLength(index - k, size - k));
}
