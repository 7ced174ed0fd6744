import type { HsmTokenInfo, KeyEncryptionKey } from '@traceo/hsm';
import type { HsmClusterFacts, HsmControlPlane } from './hsm-control-plane.port';

const DEVELOPMENT_ONLY =
  'Development only: a SoftHSM2 token is a directory of files on this machine. It has no HSM backups and no ' +
  'availability zones; a production deployment reports its AWS CloudHSM cluster (TRACEO_HSM_CONTROL_PLANE=aws-cloudhsm).';

/**
 * The development stand-in for a CloudHSM cluster: one "HSM", the SoftHSM2 token the key-encryption key
 * lives in, described by C_GetTokenInfo on the configured module. It is ACTIVE when the token can be
 * read and DEGRADED (no HSMs) when it cannot. Never used for a production compliance report.
 */
export class LocalSoftHsmControlPlane implements HsmControlPlane {
  constructor(
    private readonly kek: Pick<KeyEncryptionKey, 'tokenInfo'>,
    private readonly now: () => number = Date.now,
  ) {}

  describe(): Promise<HsmClusterFacts> {
    return Promise.resolve(this.facts());
  }

  private facts(): HsmClusterFacts {
    const common = { provider: 'local-softhsm', lastBackup: null, checkedAt: new Date(this.now()).toISOString() } as const;
    let token: HsmTokenInfo;
    try {
      if (!this.kek.tokenInfo) throw new Error('the key-encryption key does not expose its PKCS#11 token');
      token = this.kek.tokenInfo();
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown error';
      const notes = [`The PKCS#11 token could not be read: ${reason}.`, DEVELOPMENT_ONLY];
      return { ...common, clusterId: 'local-softhsm', clusterState: 'DEGRADED', hsmCount: 0, hsms: [], token: null, notes };
    }
    return {
      ...common,
      clusterId: `local-softhsm:${token.label}`,
      clusterState: 'ACTIVE',
      hsmCount: 1,
      hsms: [{ hsmId: token.serialNumber, availabilityZone: null, state: 'ACTIVE' }],
      token,
      notes: [DEVELOPMENT_ONLY],
    };
  }
}
