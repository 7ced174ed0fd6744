import { randomBytes } from 'node:crypto';
import type { RunningProcess } from '@traceo/testing';
import { loadInfraEnv, withClient } from '@traceo/testing';
import { AUTHORIZED, MachineClients, newRunId, serviceEnv, startAuthService, startBuiltService, waitForReady } from './services';

const PORT = 4331;
const base = `http://127.0.0.1:${PORT}`;

describe('encryption-service: envelope encryption over HTTP with the KEK in SoftHSM2', () => {
  const infra = loadInfraEnv();
  const run = newRunId();
  const env = serviceEnv('encryption-service', PORT, run);
  const tenant = `tenant-${run}`;
  const keyrings = `${base}/v1/encryption/tenants/${tenant}/keyrings`;
  const clients = new MachineClients({ 'key-admin': { tenant, roles: ['key-admin'] } });
  let service: RunningProcess;
  let auth: { process: RunningProcess; schema: string } | undefined;

  beforeAll(async () => {
    service = startBuiltService('encryption-service', env);
    [auth] = await Promise.all([startAuthService(run, clients), waitForReady(base, service)]);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await auth?.process.stop('SIGKILL');
    await withClient(infra.databaseUrl, async (client) => {
      for (const schema of [env.TRACEO_DATABASE_SCHEMA!, auth?.schema])
        if (schema) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = AUTHORIZED) =>
    fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('creates a keyring, encrypts a field and decrypts it back; the wrong record is a 422 problem', async () => {
    const keyringId = `customers-${randomBytes(3).toString('hex')}`;
    const keyAdmin = await clients.bearer('key-admin');
    expect((await post(keyrings, { keyringId }, keyAdmin)).status).toBe(201);
    expect((await post(keyrings, { keyringId }, keyAdmin)).status).toBe(409);
    // The platform API key is a service: it may use keys, not create them.
    expect((await post(keyrings, { keyringId: `${keyringId}-x` })).status).toBe(403);

    const field = { field: 'email', recordId: 'rec-1' };
    const encrypted = await post(`${keyrings}/${keyringId}/encrypt`, { fields: [{ ...field, plaintext: 'ada@example.com' }] });
    expect(encrypted.status).toBe(200);
    const {
      results: [sealed],
    } = (await encrypted.json()) as { results: { ok: boolean; ciphertext: string; keyVersion: number }[] };
    expect(sealed).toMatchObject({ ok: true, keyVersion: 1 });

    const decrypted = await post(`${keyrings}/${keyringId}/decrypt`, { fields: [{ ...field, ciphertext: sealed!.ciphertext }] });
    expect(decrypted.status).toBe(200);
    expect(await decrypted.json()).toEqual({ results: [{ ok: true, plaintext: 'ada@example.com', keyVersion: 1 }] });

    const wrongRecord = await post(`${keyrings}/${keyringId}/decrypt`, {
      fields: [{ ...field, recordId: 'rec-2', ciphertext: sealed!.ciphertext }],
    });
    expect(wrongRecord.status).toBe(422);
    expect(wrongRecord.headers.get('content-type')).toContain('application/problem+json');
    expect(await wrongRecord.json()).toMatchObject({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED' });
  });

  it('requires the API key and rejects unknown body fields', async () => {
    const keyringId = `orders-${randomBytes(3).toString('hex')}`;
    expect((await post(keyrings, { keyringId }, {})).status).toBe(401);
    const keyAdmin = await clients.bearer('key-admin');
    expect((await post(keyrings, { keyringId, colour: 'blue' }, keyAdmin)).status).toBe(400);
    expect((await post(`${keyrings}/missing-${run}/rotate`, {}, keyAdmin)).status).toBe(404);
  });
});
