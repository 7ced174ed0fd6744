import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EncryptionServiceVault, PersonalDataRefusedError, PersonalDataSealingError } from './encryption-service-vault';

/** A stand-in encryption-service speaking its HTTP contract (unit test: the real one runs in e2e). */
function fakeEncryptionService(answer: (path: string, body: { fields?: unknown[] }) => { status: number; body: unknown }) {
  const calls: { path: string; auth: string | undefined; body: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { fields?: unknown[] };
      calls.push({ path: req.url!, auth: req.headers.authorization, body });
      const { status, body: out } = answer(req.url!, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  return {
    calls,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const requests = [
  { eventId: 'e1', subjectId: 'ada', plaintext: '{"ip":"203.0.113.1"}' },
  { eventId: 'e2', subjectId: 'grace', plaintext: '{"ip":"203.0.113.2"}' },
  { eventId: 'e3', subjectId: 'linus', plaintext: 'x'.repeat(70_000) },
];

describe('EncryptionServiceVault', () => {
  it('creates the subject keyring once, seals a batch in one call, and maps per-field outcomes', async () => {
    const service = fakeEncryptionService((path) =>
      path.endsWith('/keyrings')
        ? { status: 201, body: {} }
        : {
            status: 200,
            body: {
              results: [
                { ok: true, ciphertext: 'c1', keyVersion: 1 },
                { ok: false, error: { code: 'CRYPTO.KEY_DESTROYED', status: 410, detail: 'shredded' } },
                { ok: false, error: { code: 'CRYPTO.INPUT_TOO_LARGE', status: 413, detail: 'too large' } },
              ],
            },
          },
    );
    const vault = new EncryptionServiceVault({ baseUrl: await service.start(), apiKey: 'k'.repeat(32), keyring: 'subjects' });
    try {
      expect(await vault.seal('acme', requests)).toEqual([{ ciphertext: 'c1' }, { withheld: 'subject-erased' }, { withheld: 'too-large' }]);
      await vault.seal('acme', requests);
      expect(service.calls.map((c) => c.path)).toEqual([
        '/v1/encryption/tenants/acme/keyrings',
        '/v1/encryption/tenants/acme/keyrings/subjects/encrypt',
        '/v1/encryption/tenants/acme/keyrings/subjects/encrypt',
      ]);
      expect(service.calls[0]!.body).toEqual({ keyringId: 'subjects', purpose: 'subject' });
      expect(service.calls[1]!.auth).toBe(`Bearer ${'k'.repeat(32)}`);
      expect((service.calls[1]!.body as { fields: unknown[] }).fields[0]).toEqual({
        field: 'audit.personal',
        recordId: 'e1',
        plaintext: '{"ip":"203.0.113.1"}',
        subjectId: 'ada',
      });
    } finally {
      await service.stop();
    }
  });

  it('reads per-field codes out of an all-failed batch problem, and refuses permanently bad fields without retrying forever', async () => {
    const service = fakeEncryptionService((path) =>
      path.endsWith('/keyrings')
        ? { status: 409, body: { code: 'CRYPTO.KEYRING_EXISTS' } }
        : { status: 400, body: { code: 'CRYPTO.BAD_INPUT', errors: ['fields[0]: CRYPTO.BAD_INPUT: bad subject'] } },
    );
    const vault = new EncryptionServiceVault({ baseUrl: await service.start(), apiKey: 'k'.repeat(32), keyring: 'subjects' });
    try {
      const error = await vault.seal('acme', requests.slice(0, 1)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PersonalDataRefusedError);
      expect((error as PersonalDataRefusedError).retryable).toBe(false);
    } finally {
      await service.stop();
    }
  });

  it('treats an unreachable or failing encryption-service as retryable, and opening as unavailable', async () => {
    const service = fakeEncryptionService(() => ({ status: 503, body: { code: 'CRYPTO.HSM_UNAVAILABLE' } }));
    const vault = new EncryptionServiceVault({ baseUrl: await service.start(), apiKey: 'k'.repeat(32), keyring: 'subjects' });
    try {
      const error = await vault.seal('acme', requests.slice(0, 1)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PersonalDataSealingError);
      expect((error as PersonalDataSealingError).retryable).toBe(true);
      expect(await vault.open('acme', [{ eventId: 'e1', ciphertext: 'c1' }])).toEqual([{ state: 'unavailable' }]);
    } finally {
      await service.stop();
    }
    const closed = new EncryptionServiceVault({
      baseUrl: 'http://127.0.0.1:9',
      apiKey: 'k'.repeat(32),
      keyring: 'subjects',
      timeoutMs: 500,
    });
    await expect(closed.seal('acme', requests.slice(0, 1))).rejects.toBeInstanceOf(PersonalDataSealingError);
  });
});
