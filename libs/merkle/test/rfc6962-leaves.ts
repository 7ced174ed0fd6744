import { leafHash } from '../src/index';

/**
 * The eight leaf inputs of the Certificate Transparency / transparency-dev/merkle reference tests
 * (RFC 6962 trees of sizes 1 to 8). The vector files' happy paths are built on these leaves too.
 */
export const REFERENCE_LEAF_INPUTS: readonly Buffer[] = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((hex) => Buffer.from(hex, 'hex'));

export const REFERENCE_LEAF_HASHES: readonly Buffer[] = REFERENCE_LEAF_INPUTS.map((input) => leafHash(input));
