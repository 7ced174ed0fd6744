import { HsmUnavailableError } from '@traceo/hsm';
import type { HsmTokenInfo } from '@traceo/hsm';
import { LocalSoftHsmControlPlane } from './local-softhsm-control-plane';

const token: HsmTokenInfo = {
  label: 'traceo-dev',
  manufacturer: 'SoftHSM project',
  model: 'SoftHSM v2',
  serialNumber: '4f3c1a2b9d8e7f60',
  hardwareVersion: '2.6',
  firmwareVersion: '2.6',
};
const now = () => Date.parse('2026-12-01T09:30:00.000Z');

describe('LocalSoftHsmControlPlane', () => {
  it('reports the token as the one ACTIVE "HSM" of a local-softhsm cluster, with no backup and a note saying why', async () => {
    await expect(new LocalSoftHsmControlPlane({ tokenInfo: () => token }, now).describe()).resolves.toEqual({
      provider: 'local-softhsm',
      clusterId: 'local-softhsm:traceo-dev',
      clusterState: 'ACTIVE',
      hsmCount: 1,
      hsms: [{ hsmId: '4f3c1a2b9d8e7f60', availabilityZone: null, state: 'ACTIVE' }],
      lastBackup: null,
      token,
      notes: [expect.stringMatching(/^Development only: .*no HSM backups/)],
      checkedAt: '2026-12-01T09:30:00.000Z',
    });
  });

  it('reports DEGRADED with no HSMs, and why, when the token cannot be read', async () => {
    const unreadable = () => {
      throw new HsmUnavailableError('cannot read the PKCS#11 token: C_GetTokenInfo returned 0xe0');
    };
    const facts = await new LocalSoftHsmControlPlane({ tokenInfo: unreadable }, now).describe();

    expect(facts).toMatchObject({
      provider: 'local-softhsm',
      clusterState: 'DEGRADED',
      hsmCount: 0,
      hsms: [],
      token: null,
      lastBackup: null,
    });
    expect(facts.notes[0]).toBe('The PKCS#11 token could not be read: cannot read the PKCS#11 token: C_GetTokenInfo returned 0xe0.');
  });

  it('reports DEGRADED when the key-encryption key has no token to describe', async () => {
    const facts = await new LocalSoftHsmControlPlane({}, now).describe();
    expect(facts).toMatchObject({ clusterState: 'DEGRADED', hsmCount: 0, token: null });
  });
});
