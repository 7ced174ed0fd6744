export type MerkleErrorCode = 'MERKLE.BAD_INPUT' | 'MERKLE.INCLUSION_INVALID' | 'MERKLE.CONSISTENCY_INVALID';

/**
 * Thrown when a proof does not verify (`*_INVALID`) or when a caller passes arguments no proof could
 * satisfy (`BAD_INPUT`: a size that is not a non-negative integer, a hash that is not 32 bytes).
 * A plain class with a stable code, so this dependency-free lib needs nothing from `@traceo/contracts`;
 * transports map it like any other domain error.
 */
export class MerkleProofError extends Error {
  constructor(
    readonly code: MerkleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
