import { CloudHSMV2Client, DescribeBackupsCommand, DescribeClustersCommand, type Backup, type Hsm } from '@aws-sdk/client-cloudhsm-v2';
import type { HsmTokenInfo, KeyEncryptionKey } from '@traceo/hsm';
import { HsmControlPlaneUnavailableError } from './hsm-control-plane.errors';
import type { HsmBackupFacts, HsmClusterFacts, HsmControlPlane, HsmFacts } from './hsm-control-plane.port';

/** How long one answer is reused: the report is read by people, and the CloudHSM API throttles. */
export const CLOUDHSM_FACTS_CACHE_MS = 30_000;
/** Bounds one describe(), SDK retries included. */
const CLOUDHSM_TIMEOUT_MS = 10_000;

export interface AwsCloudHsmControlPlaneOptions {
  clusterId: string;
  /** A client for the cluster's region; `forCluster` builds the production one. */
  client: CloudHSMV2Client;
  /** The key-encryption key, whose PKCS#11 token (the CloudHSM client library's) is reported beside the cluster. */
  kek?: Pick<KeyEncryptionKey, 'tokenInfo'>;
  /** Milliseconds clock, for the cache. */
  now?: () => number;
}

/**
 * Cluster state, HSMs and the last backup from the AWS CloudHSM API (DescribeClusters, DescribeBackups).
 * Any failure — throttling, access denied, network, timeout — is `CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE`
 * whose message carries the AWS error name and HTTP status only: never the AWS message (which can name
 * the IAM principal), request ids or credentials. Successful answers are cached for 30 s.
 */
export class AwsCloudHsmControlPlane implements HsmControlPlane {
  private cached: { facts: Promise<HsmClusterFacts>; expiresAt: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: AwsCloudHsmControlPlaneOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Region from configuration; credentials from the SDK's default chain (environment, web identity, container or instance role, shared files). */
  static forCluster(options: { clusterId: string; region: string; kek?: Pick<KeyEncryptionKey, 'tokenInfo'> }): AwsCloudHsmControlPlane {
    return new AwsCloudHsmControlPlane({
      clusterId: options.clusterId,
      kek: options.kek,
      client: new CloudHSMV2Client({ region: options.region }),
    });
  }

  describe(): Promise<HsmClusterFacts> {
    const now = this.now();
    if (this.cached && now < this.cached.expiresAt) return this.cached.facts;
    const entry = { facts: this.read(), expiresAt: now + CLOUDHSM_FACTS_CACHE_MS };
    this.cached = entry;
    // A failure is not cached: the next request asks again.
    void entry.facts.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return entry.facts;
  }

  /** Closes the client's keep-alive connections; Nest calls it at shutdown. */
  onApplicationShutdown(): void {
    this.options.client.destroy();
  }

  private async read(): Promise<HsmClusterFacts> {
    const { client, clusterId } = this.options;
    const abortSignal = AbortSignal.timeout(CLOUDHSM_TIMEOUT_MS);
    const Filters = { clusterIds: [clusterId] };
    const [clusters, backups] = await Promise.all([
      ask('DescribeClusters', () => client.send(new DescribeClustersCommand({ Filters }), { abortSignal })),
      ask('DescribeBackups', () =>
        client.send(new DescribeBackupsCommand({ Filters, SortAscending: false, MaxResults: 1 }), { abortSignal }),
      ),
    ]);
    const cluster = clusters.Clusters?.find((candidate) => candidate.ClusterId === clusterId);
    if (!cluster) throw new HsmControlPlaneUnavailableError(`AWS CloudHSM reports no cluster ${clusterId} in the configured region`);
    const hsms = (cluster.Hsms ?? []).map(hsmFacts);
    const latest = backups.Backups?.[0];
    const notes: string[] = [];
    if (!latest) notes.push('AWS CloudHSM lists no backup of this cluster.');
    return {
      provider: 'aws-cloudhsm',
      clusterId,
      clusterState: cluster.State ?? 'UNKNOWN',
      hsmCount: hsms.length,
      hsms,
      lastBackup: latest ? backupFacts(latest) : null,
      token: this.token(notes),
      notes,
      checkedAt: new Date(this.now()).toISOString(),
    };
  }

  private token(notes: string[]): HsmTokenInfo | null {
    if (!this.options.kek?.tokenInfo) return null;
    try {
      return this.options.kek.tokenInfo();
    } catch (error) {
      notes.push(`The PKCS#11 token could not be read: ${error instanceof Error ? error.message : 'unknown error'}.`);
      return null;
    }
  }
}

function hsmFacts(hsm: Hsm): HsmFacts {
  return { hsmId: hsm.HsmId ?? 'UNKNOWN', availabilityZone: hsm.AvailabilityZone ?? null, state: hsm.State ?? 'UNKNOWN' };
}

function backupFacts(backup: Backup): HsmBackupFacts {
  return {
    backupId: backup.BackupId ?? 'UNKNOWN',
    createdAt: backup.CreateTimestamp?.toISOString() ?? null,
    state: backup.BackupState ?? 'UNKNOWN',
  };
}

async function ask<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new HsmControlPlaneUnavailableError(`AWS CloudHSM ${operation} failed: ${safeReason(error)}`);
  }
}

/**
 * The SDK error's name (AccessDeniedException, ThrottlingException, TimeoutError, …), a network error
 * code and the HTTP status. Not its message, which can name the IAM principal and account, and not
 * `$metadata`, which holds the AWS request ids.
 */
function safeReason(error: unknown): string {
  const { name, code, $metadata } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const reason = [typeof name === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : 'unknown error'];
  if (typeof code === 'string' && /^E[A-Z0-9_]{1,31}$/.test(code)) reason.push(code);
  if (typeof $metadata?.httpStatusCode === 'number') reason.push(`HTTP ${$metadata.httpStatusCode}`);
  return reason.join(', ');
}
