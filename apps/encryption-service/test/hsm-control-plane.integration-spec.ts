import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { Pkcs11KeyEncryptionKey, type Pkcs11Options } from '@traceo/hsm';
import { LocalSoftHsmControlPlane } from '../src/hsm-cluster/local-softhsm-control-plane';
import {
  openEncryptionTestApp,
  openEncryptionTestRuntime,
  softHsmOptions,
  type EncryptionTestApp,
  type EncryptionTestRuntime,
} from './encryption-test-runtime';

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

/** The token as a second, independent PKCS#11 handle sees it: what the report must agree with. */
function tokenSeenDirectly(options: Pkcs11Options): pkcs11js.TokenInfo {
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(options.modulePath);
  try {
    try {
      pkcs11.C_Initialize();
    } catch (error) {
      if (!(error instanceof pkcs11js.Pkcs11Error && error.code === CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw error;
    }
    const infos = pkcs11.C_GetSlotList(true).map((slot) => pkcs11.C_GetTokenInfo(slot));
    const info = infos.find((candidate) => candidate.label.trim() === options.tokenLabel);
    if (!info) throw new Error(`token ${options.tokenLabel} not found`);
    return info;
  } finally {
    pkcs11.close();
  }
}

describe('the local SoftHSM2 control plane on the real token', () => {
  let options: Pkcs11Options;
  let kek: Pkcs11KeyEncryptionKey;
  let direct: pkcs11js.TokenInfo;

  beforeAll(() => {
    options = softHsmOptions();
    direct = tokenSeenDirectly(options);
    kek = Pkcs11KeyEncryptionKey.open(options);
  });

  afterAll(() => kek.close());

  it('reports the traceo-dev token as the one ACTIVE HSM, with what C_GetTokenInfo says about it', async () => {
    const facts = await new LocalSoftHsmControlPlane(kek).describe();

    expect(facts).toMatchObject({
      provider: 'local-softhsm',
      clusterId: `local-softhsm:${options.tokenLabel}`,
      clusterState: 'ACTIVE',
      hsmCount: 1,
      hsms: [{ hsmId: direct.serialNumber.trim(), availabilityZone: null, state: 'ACTIVE' }],
      lastBackup: null,
      token: {
        label: options.tokenLabel,
        manufacturer: 'SoftHSM project',
        model: 'SoftHSM v2',
        serialNumber: direct.serialNumber.trim(),
        hardwareVersion: `${direct.hardwareVersion.major}.${direct.hardwareVersion.minor}`,
        firmwareVersion: `${direct.firmwareVersion.major}.${direct.firmwareVersion.minor}`,
      },
    });
    expect(facts.token?.serialNumber).toMatch(/^[0-9a-f]{16}$/);
    expect(facts.notes.join(' ')).toMatch(/no HSM backups/);
    expect(Date.now() - Date.parse(facts.checkedAt)).toBeLessThan(60_000);
  });

  it('reads the token without disturbing the logged-in session: wrapping still works around it', async () => {
    const dataKey = randomBytes(32);
    const aad = Buffer.from('tenant-a|customers|1');
    const wrapped = kek.wrap(dataKey, aad);
    await new LocalSoftHsmControlPlane(kek).describe();
    expect(kek.unwrap(wrapped, aad)).toEqual(dataKey);
  });

  it('reports DEGRADED with no HSMs once the session to the token is gone', async () => {
    const closed = Pkcs11KeyEncryptionKey.open(options);
    closed.close();

    const facts = await new LocalSoftHsmControlPlane(closed).describe();

    expect(facts).toMatchObject({ clusterState: 'DEGRADED', hsmCount: 0, hsms: [], token: null });
    expect(facts.notes[0]).toMatch(/^The PKCS#11 token could not be read: /);
  });
});

describe('GET /v1/encryption/hsm (real AppModule, SoftHSM2 token)', () => {
  let test: EncryptionTestRuntime;
  let api: EncryptionTestApp;

  beforeAll(async () => {
    test = await openEncryptionTestRuntime('enc_hsm');
    api = await openEncryptionTestApp(test);
  });

  afterAll(async () => {
    await api?.close();
    await test?.close();
  });

  it('answers the local-softhsm facts as JSON', async () => {
    const response = await api.call('GET', '/v1/encryption/hsm');

    expect(response.status).toBe(200);
    expect(response.type).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({
      provider: 'local-softhsm',
      clusterId: `local-softhsm:${test.runtime.config.TRACEO_PKCS11_TOKEN_LABEL}`,
      clusterState: 'ACTIVE',
      hsmCount: 1,
      lastBackup: null,
      token: { label: test.runtime.config.TRACEO_PKCS11_TOKEN_LABEL, model: 'SoftHSM v2' },
    });
    expect(JSON.stringify(response.body)).not.toContain(test.runtime.config.TRACEO_PKCS11_PIN);
  });

  it('is not public: without the API key it is 401 AUTH.UNAUTHENTICATED', async () => {
    const response = await fetch(new URL('/v1/encryption/hsm', api.keyrings('any')));

    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('AUTH.UNAUTHENTICATED');
  });
});
