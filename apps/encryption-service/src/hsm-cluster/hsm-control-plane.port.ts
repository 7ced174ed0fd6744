import type { HsmTokenInfo } from '@traceo/hsm';

export type HsmControlPlaneProvider = 'aws-cloudhsm' | 'local-softhsm';

export interface HsmFacts {
  hsmId: string;
  /** null for the local token, which has no availability zone. */
  availabilityZone: string | null;
  /** CloudHSM's HSM state (ACTIVE, DEGRADED, …); the local token is ACTIVE when it can be read. */
  state: string;
}

export interface HsmBackupFacts {
  backupId: string;
  /** ISO 8601, or null when the API did not say. */
  createdAt: string | null;
  /** CloudHSM's backup state (READY, CREATE_IN_PROGRESS, …). */
  state: string;
}

/** What a compliance officer checks about the HSMs behind the key-encryption key. Contains no secrets. */
export interface HsmClusterFacts {
  provider: HsmControlPlaneProvider;
  clusterId: string;
  /** CloudHSM's cluster state (ACTIVE, DEGRADED, UNINITIALIZED, …). */
  clusterState: string;
  hsmCount: number;
  hsms: HsmFacts[];
  /** The most recent backup of the cluster; null when there is none (or, locally, never). */
  lastBackup: HsmBackupFacts | null;
  /** The PKCS#11 token the service is logged in to, when it could be read. */
  token: HsmTokenInfo | null;
  /** Plain-language remarks: why a fact is missing, what a development setup does not have. */
  notes: string[];
  /** When these facts were read from their source (ISO 8601); may lag behind the request by the cache time. */
  checkedAt: string;
}

/**
 * Read-only facts about the HSM cluster: state, HSMs, last backup. `AwsCloudHsmControlPlane` asks the
 * AWS CloudHSM API; `LocalSoftHsmControlPlane` describes the development SoftHSM2 token.
 * Failures are `HsmControlPlaneUnavailableError`.
 */
export interface HsmControlPlane {
  describe(): Promise<HsmClusterFacts>;
}

export const HSM_CONTROL_PLANE = Symbol('HSM_CONTROL_PLANE');
