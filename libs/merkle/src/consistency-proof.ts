import { isHash, nodeHash, sameHash } from './hashing';
import { inclusionProofLength } from './inclusion-proof';
import { MerkleProofError } from './merkle.errors';
import { splitPoint, subtreeHash } from './tree-hash';
import { isPowerOfTwo, requireArrayIndex, toUint64, trailingZeros, type TreeSize } from './tree-size';

/**
 * PROOF(m, D[n]) of RFC 6962 §2.1.2 that the first `oldSize` leaves are a prefix of the first
 * `newSize` (default: all) leaves. Empty when oldSize is 0 or equals newSize: there is nothing to
 * prove, and `verifyConsistency` rejects a proof from size 0 anyway.
 */
export function consistencyProof(leaves: readonly Uint8Array[], oldSize: number, newSize: number = leaves.length): Buffer[] {
  requireArrayIndex(newSize, 'newSize', leaves.length);
  requireArrayIndex(oldSize, 'oldSize', newSize);
  if (oldSize === 0 || oldSize === newSize) return [];

  // SUBPROOF(m, D[start:end], b), unrolled from the root down; each step's hash goes after the deeper part.
  const proof: Buffer[] = [];
  let m = oldSize;
  let start = 0;
  let end = newSize;
  let isWholeOldTree = true; // the RFC's b flag
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      proof.push(subtreeHash(leaves, start + k, end));
      end = start + k;
    } else {
      proof.push(subtreeHash(leaves, start, start + k));
      m -= k;
      start += k;
      isWholeOldTree = false;
    }
  }
  // The verifier already holds the old root, so it is left out; a smaller subtree of it is not.
  if (!isWholeOldTree) proof.push(subtreeHash(leaves, start, end));
  return proof.reverse();
}

/**
 * Verifies an RFC 9162 §2.1.4.2 consistency proof; throws MerkleProofError unless the tree with
 * `newRoot` at `newSize` extends the one with `oldRoot` at `oldSize`. Edge cases as transparency-dev/merkle:
 * equal sizes need an empty proof and equal roots; a proof from size 0 is refused as meaningless.
 * As with inclusion, the sizes must come from the signed checkpoints that carry the roots.
 */
export function verifyConsistency(
  oldSize: TreeSize,
  newSize: TreeSize,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  const m = toUint64(oldSize, 'oldSize');
  const n = toUint64(newSize, 'newSize');
  if (n < m) invalid(`the new size ${n} is smaller than the old size ${m}`);
  if (m === 0n) invalid('a consistency proof from the empty tree proves nothing');
  if (m === n) {
    if (proof.length !== 0) invalid('trees of equal size need an empty proof');
    // Nothing to recompute: the roots are compared as given, like the reference implementation.
    if (!sameHash(oldRoot, newRoot)) invalid('trees of equal size have different roots');
    return;
  }
  if (proof.length === 0) invalid('the proof is empty');
  if (!isHash(oldRoot) || !isHash(newRoot)) invalid('a root is not 32 bytes');
  const expected = consistencyProofLength(m, n);
  if (proof.length !== expected) invalid(`the proof has ${proof.length} hashes, sizes ${m} to ${n} need ${expected}`);
  if (!proof.every(isHash)) invalid('a proof element is not 32 bytes');

  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : proof;
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) invalid('the proof is longer than the path to the new root');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) invalid('the proof is shorter than the path to the new root');
  // Both comparisons always run, so the time taken does not tell which root failed.
  const oldMatches = sameHash(fr, oldRoot);
  const newMatches = sameHash(sr, newRoot);
  if (!oldMatches || !newMatches) invalid('the proof does not lead to both roots');
}

/**
 * Hashes in a valid proof for 0 < m < n: the inclusion path of leaf m-1 in the new tree, minus the
 * levels inside the largest perfect subtree ending at m, plus that subtree's root unless it is the
 * whole old tree.
 */
function consistencyProofLength(m: bigint, n: bigint): number {
  const shift = trailingZeros(m);
  return inclusionProofLength(m - 1n, n) - shift + (isPowerOfTwo(m) ? 0 : 1);
}

function invalid(message: string): never {
  throw new MerkleProofError('MERKLE.CONSISTENCY_INVALID', message);
}
