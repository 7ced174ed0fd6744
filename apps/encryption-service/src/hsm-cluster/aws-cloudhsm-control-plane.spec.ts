import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudHSMV2Client } from '@aws-sdk/client-cloudhsm-v2';
import { HsmUnavailableError } from '@traceo/hsm';
import type { HsmTokenInfo } from '@traceo/hsm';
import { AwsCloudHsmControlPlane, CLOUDHSM_FACTS_CACHE_MS } from './aws-cloudhsm-control-plane';
import { HsmControlPlaneUnavailableError } from './hsm-control-plane.errors';

/**
 * The real AWS SDK client against a local server speaking the AWS JSON 1.1 protocol of the CloudHSM v2
 * API (service "BaldrApiService"), so what goes over the wire and how answers are read are both real.
 */

const CLUSTER_ID = 'cluster-igklspoyj5v';
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const REQUEST_ID = '5f2e8b3c-7a1d-4e9b-9c0f-2d6a1b8e4f70';
const PRINCIPAL = 'arn:aws:iam::111122223333:user/traceo-ci';

interface Recorded {
  target: string | undefined;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

interface Reply {
  status: number;
  body: unknown;
}

/** Field names and value shapes as in @aws-sdk/client-cloudhsm-v2's models (Cluster, Hsm, Backup); timestamps are epoch seconds on the wire. */
const describeClustersAnswer = {
  Clusters: [
    {
      BackupPolicy: 'DEFAULT',
      BackupRetentionPolicy: { Type: 'DAYS', Value: '90' },
      ClusterId: CLUSTER_ID,
      CreateTimestamp: 1732449601.234,
      HsmType: 'hsm2m.medium',
      Hsms: [
        {
          AvailabilityZone: 'eu-west-1a',
          ClusterId: CLUSTER_ID,
          EniId: 'eni-0a1b2c3d4e5f60718',
          EniIp: '10.0.1.23',
          HsmId: 'hsm-ab2cdefg3hi',
          State: 'ACTIVE',
          StateMessage: 'HSM created.',
          SubnetId: 'subnet-0a1b2c3d',
        },
        {
          AvailabilityZone: 'eu-west-1b',
          ClusterId: CLUSTER_ID,
          EniId: 'eni-0f1e2d3c4b5a69788',
          EniIp: '10.0.2.47',
          HsmId: 'hsm-jk4lmnop5qr',
          State: 'DEGRADED',
          StateMessage: 'HSM is degraded.',
          SubnetId: 'subnet-1b2c3d4e',
        },
      ],
      PreCoPassword: 'not-a-real-preco-password',
      SecurityGroup: 'sg-0123456789abcdef0',
      State: 'ACTIVE',
      StateMessage: 'Cluster is active.',
      SubnetMapping: { 'eu-west-1a': 'subnet-0a1b2c3d', 'eu-west-1b': 'subnet-1b2c3d4e' },
      VpcId: 'vpc-0123456789abcdef0',
      Certificates: { ClusterCertificate: '-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----' },
      TagList: [{ Key: 'env', Value: 'prod' }],
    },
  ],
};

const describeBackupsAnswer = {
  Backups: [
    {
      BackupId: 'backup-rtq2dwi2gq6',
      BackupState: 'READY',
      ClusterId: CLUSTER_ID,
      CreateTimestamp: 1764820800.5,
      NeverExpires: false,
      TagList: [],
    },
  ],
};

const token: HsmTokenInfo = {
  label: 'hsm1',
  manufacturer: 'Marvell Semiconductors, Inc.',
  model: 'LS2',
  serialNumber: '1',
  hardwareVersion: '1.0',
  firmwareVersion: '3.4',
};

describe('AwsCloudHsmControlPlane (real AWS SDK client, local JSON 1.1 endpoint)', () => {
  let server: Server;
  let endpoint: string;
  let requests: Recorded[];
  let replies: Record<string, Reply>;
  let clients: CloudHSMV2Client[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const target = request.headers['x-amz-target'] as string | undefined;
        requests.push({ target, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') });
        const reply = replies[target ?? ''] ?? { status: 400, body: { __type: 'UnknownOperationException' } };
        response.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': REQUEST_ID });
        response.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    requests = [];
    clients = [];
    replies = {
      'BaldrApiService.DescribeClusters': { status: 200, body: describeClustersAnswer },
      'BaldrApiService.DescribeBackups': { status: 200, body: describeBackupsAnswer },
    };
  });

  afterEach(() => clients.forEach((client) => client.destroy()));

  function controlPlane(options: { now?: () => number; tokenInfo?: () => HsmTokenInfo; url?: string } = {}): AwsCloudHsmControlPlane {
    // One attempt: these tests are about what this service sends and reads, not the SDK's retry schedule.
    const client = new CloudHSMV2Client({
      region: 'eu-west-1',
      endpoint: options.url ?? endpoint,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    clients.push(client);
    return new AwsCloudHsmControlPlane({
      clusterId: CLUSTER_ID,
      client,
      ...(options.tokenInfo ? { kek: { tokenInfo: options.tokenInfo } } : {}),
      now: options.now ?? (() => Date.parse('2026-12-01T09:30:00.000Z')),
    });
  }

  it('asks DescribeClusters and DescribeBackups for the configured cluster only, most recent backup first, signed with SigV4', async () => {
    await controlPlane().describe();

    expect(requests.map((request) => request.target).sort()).toEqual([
      'BaldrApiService.DescribeBackups',
      'BaldrApiService.DescribeClusters',
    ]);
    const byTarget = (target: string) => requests.find((request) => request.target === `BaldrApiService.${target}`)!;
    expect(byTarget('DescribeClusters').body).toEqual({ Filters: { clusterIds: [CLUSTER_ID] } });
    expect(byTarget('DescribeBackups').body).toEqual({ Filters: { clusterIds: [CLUSTER_ID] }, SortAscending: false, MaxResults: 1 });
    for (const { headers } of requests) {
      expect(headers['content-type']).toBe('application/x-amz-json-1.1');
      expect(headers.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/eu-west-1/cloudhsm/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$`,
        ),
      );
      expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
  });

  it('reports cluster state, each HSM with its availability zone and state, and the last backup', async () => {
    const facts = await controlPlane({ tokenInfo: () => token }).describe();

    expect(facts).toEqual({
      provider: 'aws-cloudhsm',
      clusterId: CLUSTER_ID,
      clusterState: 'ACTIVE',
      hsmCount: 2,
      hsms: [
        { hsmId: 'hsm-ab2cdefg3hi', availabilityZone: 'eu-west-1a', state: 'ACTIVE' },
        { hsmId: 'hsm-jk4lmnop5qr', availabilityZone: 'eu-west-1b', state: 'DEGRADED' },
      ],
      lastBackup: { backupId: 'backup-rtq2dwi2gq6', createdAt: '2025-12-04T04:00:00.500Z', state: 'READY' },
      token,
      notes: [],
      checkedAt: '2026-12-01T09:30:00.000Z',
    });
    // The cluster description carries the pre-crypto-officer password and network details: none of it is passed on.
    expect(JSON.stringify(facts)).not.toMatch(/not-a-real-preco-password|10\.0\.1\.23|eni-|sg-|vpc-|CERTIFICATE/);
  });

  it('says so when the cluster has no backup', async () => {
    replies['BaldrApiService.DescribeBackups'] = { status: 200, body: { Backups: [] } };

    const facts = await controlPlane().describe();

    expect(facts.lastBackup).toBeNull();
    expect(facts.notes).toEqual(['AWS CloudHSM lists no backup of this cluster.']);
    expect(facts.token).toBeNull();
  });

  it('reports the cluster without the token when the PKCS#11 token cannot be read, and says why', async () => {
    const facts = await controlPlane({
      tokenInfo: () => {
        throw new HsmUnavailableError('cannot read the PKCS#11 token: C_GetSessionInfo returned 0xb3');
      },
    }).describe();

    expect(facts.clusterState).toBe('ACTIVE');
    expect(facts.token).toBeNull();
    expect(facts.notes).toEqual(['The PKCS#11 token could not be read: cannot read the PKCS#11 token: C_GetSessionInfo returned 0xb3.']);
  });

  it('answers from its cache for 30 s, then asks AWS again', async () => {
    let now = Date.parse('2026-12-01T09:30:00.000Z');
    const plane = controlPlane({ now: () => now });

    const first = await plane.describe();
    now += CLOUDHSM_FACTS_CACHE_MS - 1;
    expect(await plane.describe()).toBe(first);
    expect(requests).toHaveLength(2);

    now += 1;
    const third = await plane.describe();
    expect(requests).toHaveLength(4);
    expect(third.checkedAt).toBe(new Date(now).toISOString());
  });

  it.each([
    ['IAM access denied', 'AccessDeniedException', `User: ${PRINCIPAL} is not authorized to perform: cloudhsm:DescribeClusters`],
    ['CloudHSM access denied', 'CloudHsmAccessDeniedException', `User ${PRINCIPAL} (request ${REQUEST_ID}) is not allowed`],
    ['throttling', 'ThrottlingException', `Rate exceeded for ${ACCESS_KEY_ID} (request ${REQUEST_ID})`],
  ])(
    'maps %s to 503 CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE without the request id, principal or credentials',
    async (_case, type, message) => {
      replies['BaldrApiService.DescribeClusters'] = { status: 400, body: { __type: type, Message: message, message } };

      const error: unknown = await controlPlane()
        .describe()
        .then(
          () => undefined,
          (rejection: unknown) => rejection,
        );

      expect(error).toBeInstanceOf(HsmControlPlaneUnavailableError);
      expect(error).toMatchObject({
        code: 'CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE',
        status: 503,
        retryable: true,
        message: `AWS CloudHSM DescribeClusters failed: ${type}, HTTP 400`,
      });
      const everything = JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack });
      for (const secret of [REQUEST_ID, PRINCIPAL, '111122223333', ACCESS_KEY_ID, SECRET_ACCESS_KEY])
        expect(everything).not.toContain(secret);
    },
  );

  it('does not cache a failure: the next request asks AWS again', async () => {
    replies['BaldrApiService.DescribeClusters'] = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
    const plane = controlPlane();
    await expect(plane.describe()).rejects.toThrow(HsmControlPlaneUnavailableError);

    replies['BaldrApiService.DescribeClusters'] = { status: 200, body: describeClustersAnswer };
    await expect(plane.describe()).resolves.toMatchObject({ clusterState: 'ACTIVE', hsmCount: 2 });
  });

  it('maps an unreachable endpoint to 503 CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    await expect(controlPlane({ url }).describe()).rejects.toMatchObject({
      code: 'CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE',
      status: 503,
      message: expect.stringMatching(/^AWS CloudHSM Describe(Clusters|Backups) failed: /),
    });
  });

  it('refuses an answer that does not describe the configured cluster', async () => {
    replies['BaldrApiService.DescribeClusters'] = { status: 200, body: { Clusters: [] } };

    await expect(controlPlane().describe()).rejects.toMatchObject({
      code: 'CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE',
      message: `AWS CloudHSM reports no cluster ${CLUSTER_ID} in the configured region`,
    });
  });
});
