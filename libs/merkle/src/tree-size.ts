import { MerkleProofError } from './merkle.errors';

/**
 * A leaf index or tree size. Verifiers accept a bigint so that sizes read from signed checkpoints
 * (uint64 on the wire) are never rounded through a double; a number must be a safe integer.
 */
export type TreeSize = number | bigint;

const UINT64_LIMIT = 1n << 64n;

export function toUint64(value: TreeSize, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value >= 0n && value < UINT64_LIMIT) return value;
  } else if (Number.isSafeInteger(value) && value >= 0) {
    return BigInt(value);
  }
  throw new MerkleProofError('MERKLE.BAD_INPUT', `${name} must be an integer in [0, 2^64) (a number must be a safe integer)`);
}

export function requireArrayIndex(value: number, name: string, limit: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > limit) {
    throw new MerkleProofError('MERKLE.BAD_INPUT', `${name} must be an integer in [0, ${limit}]`);
  }
}

export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

export function onesCount(value: bigint): number {
  let count = 0;
  for (const digit of value.toString(2)) if (digit === '1') count++;
  return count;
}

export function trailingZeros(value: bigint): number {
  let count = 0;
  for (let rest = value; rest > 0n && (rest & 1n) === 0n; rest >>= 1n) count++;
  return count;
}

export function isPowerOfTwo(value: bigint): boolean {
  return value > 0n && (value & (value - 1n)) === 0n;
}
