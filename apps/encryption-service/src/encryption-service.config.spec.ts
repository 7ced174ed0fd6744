import { ConfigurationError, loadConfig } from '@traceo/service-kit';
import { encryptionConfigSchema } from './encryption-service.config';
import { AwsCloudHsmControlPlane } from './hsm-cluster/aws-cloudhsm-control-plane';
import { createHsmControlPlane } from './hsm-cluster/hsm-cluster.module';
import { LocalSoftHsmControlPlane } from './hsm-cluster/local-softhsm-control-plane';

const base = {
  TRACEO_HTTP_PORT: '3000',
  TRACEO_DATABASE_URL: 'postgres://traceo@127.0.0.1:5432/traceo',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:9092',
  TRACEO_API_KEYS: 'test:0123456789abcdef0123456789abcdef',
  // Any existing file passes the module check; the control-plane settings are what is under test.
  TRACEO_PKCS11_MODULE: __filename,
  TRACEO_PKCS11_TOKEN_LABEL: 'traceo-dev',
  TRACEO_PKCS11_PIN: 'not-a-real-pin',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(encryptionConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('HSM control-plane configuration', () => {
  const kek = { tokenInfo: () => ({ label: '', manufacturer: '', model: '', serialNumber: '', hardwareVersion: '', firmwareVersion: '' }) };
  const stubKek = { id: 'test', wrap: () => Buffer.alloc(0), unwrap: () => Buffer.alloc(0), close: () => undefined, ...kek };

  it('defaults to the local SoftHSM2 control plane', () => {
    const config = loadConfig(encryptionConfigSchema, base);
    expect(config.TRACEO_HSM_CONTROL_PLANE).toBe('local-softhsm');
    expect(createHsmControlPlane(config, stubKek)).toBeInstanceOf(LocalSoftHsmControlPlane);
  });

  it('builds the AWS CloudHSM control plane for a cluster id and region', () => {
    const config = loadConfig(encryptionConfigSchema, {
      ...base,
      TRACEO_HSM_CONTROL_PLANE: 'aws-cloudhsm',
      TRACEO_CLOUDHSM_CLUSTER_ID: 'cluster-igklspoyj5v',
      AWS_REGION: 'eu-west-1',
    });
    const plane = createHsmControlPlane(config, stubKek);
    expect(plane).toBeInstanceOf(AwsCloudHsmControlPlane);
    (plane as AwsCloudHsmControlPlane).onApplicationShutdown();
  });

  it('refuses aws-cloudhsm without a cluster id or region, naming each variable', () => {
    expect(problemsOf({ ...base, TRACEO_HSM_CONTROL_PLANE: 'aws-cloudhsm' })).toEqual([
      'TRACEO_CLOUDHSM_CLUSTER_ID is required',
      'AWS_REGION is required',
    ]);
  });

  it('refuses a cluster id that is not cluster-…', () => {
    expect(
      problemsOf({ ...base, TRACEO_HSM_CONTROL_PLANE: 'aws-cloudhsm', TRACEO_CLOUDHSM_CLUSTER_ID: 'Cluster_1', AWS_REGION: 'eu-west-1' }),
    ).toEqual(['TRACEO_CLOUDHSM_CLUSTER_ID must be a CloudHSM cluster id (cluster-…)']);
  });

  it('refuses an unknown control plane', () => {
    expect(problemsOf({ ...base, TRACEO_HSM_CONTROL_PLANE: 'kms' })).toEqual([expect.stringMatching(/^TRACEO_HSM_CONTROL_PLANE /)]);
  });
});

describe('subject-key lease configuration', () => {
  it('lets nobody lease by default, for at most 60 seconds', () => {
    const config = loadConfig(encryptionConfigSchema, base);
    expect(config.TRACEO_SUBJECT_KEY_LEASE_CLIENTS).toEqual([]);
    expect(config.TRACEO_SUBJECT_KEY_LEASE_SECONDS).toBe(60);
  });

  it('reads the allowed callers as a comma-separated list, ignoring blanks', () => {
    const config = loadConfig(encryptionConfigSchema, { ...base, TRACEO_SUBJECT_KEY_LEASE_CLIENTS: ' audit-service , ,audit-replica ' });
    expect(config.TRACEO_SUBJECT_KEY_LEASE_CLIENTS).toEqual(['audit-service', 'audit-replica']);
  });

  it.each(['0', '301', '1.5', 'forever'])('refuses a lease length of %s seconds, naming the variable', (seconds) => {
    expect(problemsOf({ ...base, TRACEO_SUBJECT_KEY_LEASE_SECONDS: seconds }).join('\n')).toContain('TRACEO_SUBJECT_KEY_LEASE_SECONDS');
  });
});
