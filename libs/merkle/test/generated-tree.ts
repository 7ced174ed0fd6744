import { EMPTY_ROOT, leafHash, MerkleProofError, rootFromLeafHashes, type MerkleErrorCode } from '../src/index';

export const MAX_LEAVES = 64;

/** Distinct leaf hashes and the root of every prefix of them: ROOTS[n] is the root of the first n. */
export const LEAVES: readonly Buffer[] = Array.from({ length: MAX_LEAVES }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
export const ROOTS: readonly Buffer[] = [EMPTY_ROOT, ...LEAVES.map((_, i) => rootFromLeafHashes(LEAVES.slice(0, i + 1)))];
export const TREE_SIZES: readonly number[] = LEAVES.map((_, i) => i + 1);

export function flipBit(bytes: Uint8Array, byteIndex = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[byteIndex] = (copy[byteIndex] as number) ^ 0x10;
  return copy;
}

/** The code of the MerkleProofError thrown by `run`, or undefined if it returns; other errors propagate. */
export function errorCode(run: () => unknown): MerkleErrorCode | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof MerkleProofError) return error.code;
    throw error;
  }
  return undefined;
}

/** Names of the tamperings that were not rejected with `code`: a list, so a failure says which. */
export function notRejected(tamperings: ReadonlyArray<readonly [string, () => unknown]>, code: MerkleErrorCode): string[] {
  return tamperings.filter(([, run]) => errorCode(run) !== code).map(([name]) => name);
}
