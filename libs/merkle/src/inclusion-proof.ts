import { isHash, nodeHash, sameHash } from './hashing';
import { MerkleProofError } from './merkle.errors';
import { splitPoint, subtreeHash } from './tree-hash';
import { bitLength, onesCount, requireArrayIndex, toUint64, type TreeSize } from './tree-size';

/**
 * PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path for leaf `index` among all the tree's leaf hashes,
 * ordered from the leaf's sibling up to the root's child. O(n) hashing in total.
 */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (leaves.length === 0) throw new MerkleProofError('MERKLE.BAD_INPUT', 'the empty tree has no leaf to prove');
  requireArrayIndex(index, 'index', leaves.length - 1);
  const path: Buffer[] = [];
  let start = 0;
  let end = leaves.length;
  // Walk down from the root; the RFC appends each sibling after the deeper part of the path.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      path.push(subtreeHash(leaves, start + k, end));
      end = start + k;
    } else {
      path.push(subtreeHash(leaves, start, start + k));
      start += k;
    }
  }
  return path.reverse();
}

/**
 * The root that `proof` implies for `leafHash` at `leafIndex` in a tree of `treeSize` leaves, by the
 * algorithm of RFC 9162 §2.1.3.2. Throws MERKLE.INCLUSION_INVALID when no root follows.
 */
export function rootFromInclusionProof(
  leafIndex: TreeSize,
  treeSize: TreeSize,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer {
  const index = toUint64(leafIndex, 'leafIndex');
  const size = toUint64(treeSize, 'treeSize');
  if (index >= size) invalid(`leaf index ${index} is not below tree size ${size}`);
  if (!isHash(leafHash)) invalid('the leaf hash is not 32 bytes');
  const expected = inclusionProofLength(index, size);
  if (proof.length !== expected) invalid(`the proof has ${proof.length} hashes, a leaf at ${index} of ${size} needs ${expected}`);
  if (!proof.every(isHash)) invalid('a proof element is not 32 bytes');

  let fn = index;
  let sn = size - 1n;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0n) invalid('the proof is longer than the path to the root');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) invalid('the proof is shorter than the path to the root');
  return r;
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof; throws MerkleProofError unless it proves `leafHash` is in `root`.
 * The root does not commit to the tree size (a proof can also fit a neighbouring size whose path has
 * the same shape), so `treeSize` must come from the same signed checkpoint as `root`.
 */
export function verifyInclusion(
  leafIndex: TreeSize,
  treeSize: TreeSize,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  if (!isHash(root)) invalid('the root is not 32 bytes');
  if (!sameHash(computed, root)) invalid('the proof leads to a different root');
}

/**
 * Hashes in a valid proof: levels below the point where the paths to `index` and to the last leaf
 * part, plus one per left sibling on the right border above it.
 */
export function inclusionProofLength(index: bigint, size: bigint): number {
  const inner = bitLength(index ^ (size - 1n));
  return inner + onesCount(index >> BigInt(inner));
}

function invalid(message: string): never {
  throw new MerkleProofError('MERKLE.INCLUSION_INVALID', message);
}
