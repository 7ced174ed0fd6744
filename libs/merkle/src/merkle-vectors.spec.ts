import { loadConsistencyVectors, loadInclusionVectors, type ConsistencyVector, type InclusionVector } from '../test/merkle-vectors';
import { REFERENCE_LEAF_HASHES } from '../test/rfc6962-leaves';
import { consistencyProof, inclusionProof, MerkleProofError, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './index';

// Loading throws (and fails the suite) when the directory is missing or holds no vectors.
const inclusionVectors = loadInclusionVectors();
const consistencyVectors = loadConsistencyVectors();
const ran = { inclusion: 0, consistency: 0 };

function thrownBy(verify: () => void): unknown {
  try {
    verify();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectOutcome(error: unknown, wantErr: boolean): void {
  if (wantErr) expect(error).toBeInstanceOf(MerkleProofError);
  else expect(error).toBeUndefined();
}

afterAll(() => {
  const skipped = inclusionVectors.length + consistencyVectors.length - ran.inclusion - ran.consistency;
  const beyondDoubles = [...inclusionVectors, ...consistencyVectors].filter((v) =>
    Object.values(v).some((field) => typeof field === 'bigint'),
  );
  console.log(
    `merkle vectors: ${ran.inclusion} inclusion, ${ran.consistency} consistency, ${skipped} skipped` +
      ` (${beyondDoubles.length} with uint64 values above 2^53, passed as bigint)`,
  );
});

describe('transparency-dev/merkle inclusion vectors', () => {
  it.each(inclusionVectors.map((v): [string, InclusionVector] => [`${v.name} (${v.desc})`, v]))('%s', (_name, v) => {
    ran.inclusion++;
    expectOutcome(
      thrownBy(() => verifyInclusion(v.leafIdx, v.treeSize, v.leafHash, v.proof, v.root)),
      v.wantErr,
    );
  });
});

describe('transparency-dev/merkle consistency vectors', () => {
  it.each(consistencyVectors.map((v): [string, ConsistencyVector] => [`${v.name} (${v.desc})`, v]))('%s', (_name, v) => {
    ran.consistency++;
    expectOutcome(
      thrownBy(() => verifyConsistency(v.size1, v.size2, v.root1, v.root2, v.proof)),
      v.wantErr,
    );
  });
});

// The happy paths in the numbered directories are proofs over the RFC 6962 reference leaves, so the
// generators must produce them byte for byte.
describe('proof generation against the vectors', () => {
  const numbered = /^(inclusion|consistency)\/\d+\/happy-path\.json$/;
  const inclusionHappy = inclusionVectors.filter((v) => numbered.test(v.name));
  const consistencyHappy = consistencyVectors.filter((v) => numbered.test(v.name));

  it('finds the happy paths it reproduces', () => {
    expect(inclusionHappy.length).toBeGreaterThan(0);
    expect(consistencyHappy.length).toBeGreaterThan(0);
  });

  it.each(inclusionHappy.map((v): [string, InclusionVector] => [v.name, v]))('reproduces %s', (_name, v) => {
    const leaves = REFERENCE_LEAF_HASHES.slice(0, Number(v.treeSize));
    expect(rootFromLeafHashes(leaves)).toEqual(v.root);
    expect(leaves[Number(v.leafIdx)]).toEqual(v.leafHash);
    expect(inclusionProof(leaves, Number(v.leafIdx))).toEqual(v.proof);
  });

  it.each(consistencyHappy.map((v): [string, ConsistencyVector] => [v.name, v]))('reproduces %s', (_name, v) => {
    const leaves = REFERENCE_LEAF_HASHES.slice(0, Number(v.size2));
    expect(rootFromLeafHashes(leaves.slice(0, Number(v.size1)))).toEqual(v.root1);
    expect(rootFromLeafHashes(leaves)).toEqual(v.root2);
    expect(consistencyProof(leaves, Number(v.size1))).toEqual(v.proof);
  });
});
