import { createHash } from 'node:crypto';

import { REFERENCE_LEAF_HASHES, REFERENCE_LEAF_INPUTS } from '../test/rfc6962-leaves';
import { EMPTY_ROOT, leafHash, leafHashOfText, MerkleProofError, nodeHash, rootFromLeafHashes } from './index';

// Roots of the trees made of the first 1..8 reference leaves, from transparency-dev/merkle
// proof/verify_test.go (the Certificate Transparency reference data).
const REFERENCE_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const sha256 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, part) => h.update(part), createHash('sha256')).digest();

describe('RFC 6962 hashing', () => {
  it('hashes a leaf as SHA-256(0x00 || data)', () => {
    const data = Buffer.from('audit record');
    expect(leafHash(data)).toEqual(sha256(Buffer.from([0]), data));
  });

  it('hashes a node as SHA-256(0x01 || left || right), so a node never collides with a leaf of the same bytes', () => {
    const [left, right] = [leafHash(Buffer.from('a')), leafHash(Buffer.from('b'))];
    expect(nodeHash(left, right)).toEqual(sha256(Buffer.from([1]), left, right));
    expect(nodeHash(left, right)).not.toEqual(leafHash(Buffer.concat([left, right])));
  });

  it('refuses node children that are not 32-byte hashes', () => {
    expect(() => nodeHash(Buffer.alloc(31), Buffer.alloc(32))).toThrow(MerkleProofError);
    expect(() => nodeHash(Buffer.alloc(32), Buffer.alloc(33))).toThrow(MerkleProofError);
  });

  it('gives the empty tree the hash of the empty string', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rootFromLeafHashes([])).toEqual(EMPTY_ROOT);
  });

  it('uses the eight reference leaves of the CT test data', () => {
    expect(REFERENCE_LEAF_INPUTS.map((input) => input.length)).toEqual([0, 1, 1, 2, 2, 4, 8, 16]);
  });

  it.each(REFERENCE_ROOTS.map((root, i) => [i + 1, root] as const))('computes the reference root of a %i-leaf tree', (size, root) => {
    expect(rootFromLeafHashes(REFERENCE_LEAF_HASHES.slice(0, size)).toString('hex')).toBe(root);
  });

  it('returns a root the caller may mutate without touching the leaves', () => {
    const leaves = [leafHash(Buffer.from('only'))];
    const root = rootFromLeafHashes(leaves);
    root.fill(0);
    expect(leaves[0]).toEqual(leafHash(Buffer.from('only')));
  });
});

describe('leafHashOfText', () => {
  it('is the leaf hash of the text as UTF-8 bytes', () => {
    for (const text of ['', '{"a":1}', 'é€😀\u0000\u007f', 'x'.repeat(70_000)]) {
      expect(leafHashOfText(text).equals(leafHash(Buffer.from(text, 'utf8')))).toBe(true);
      expect(leafHashOfText(text).equals(sha256(Buffer.from([0]), Buffer.from(text, 'utf8')))).toBe(true);
    }
  });
});
