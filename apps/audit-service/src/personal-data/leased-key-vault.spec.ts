import { randomBytes } from 'node:crypto';
import { decryptField, readCiphertextHeader } from '@traceo/crypto';
import { silentLogger } from '@traceo/messaging';
import { PERSONAL_FIELD_NAME, PersonalDataRefusedError, type SubjectKeyLeaseAnswer } from './encryption-service-vault';
import { LeasedKeyVault, type DropReason, type SubjectKeyService } from './leased-key-vault';
import { encryptionTenantOf } from './personal-data';
import type { SealRequest, SealResult } from './personal-data-vault';

const TENANT = 'acme';

/** encryption-service as the vault sees it: leases real random keys, remembers what it was asked. */
function fakeEncryptionService(options: { refuse?: boolean; maxSeconds?: number } = {}) {
  const keys = new Map<string, Buffer>();
  const destroyed = new Set<string>();
  const asked: { subjects: string[]; seals: number }[] = [];
  let sealCalls = 0;
  let beforeAnswer: (() => void) | undefined;
  const keyOf = (subject: string) => keys.get(subject) ?? keys.set(subject, randomBytes(32)).get(subject)!;
  const service: SubjectKeyService = {
    keyring: 'subjects',
    seal: (_tenant, requests) => {
      sealCalls += 1;
      return Promise.resolve(requests.map(() => ({ ciphertext: 'sealed-by-encryption-service' })));
    },
    open: () => Promise.resolve([]),
    lease: (_tenant, subjects, seals, seconds) => {
      asked.push({ subjects: [...subjects], seals });
      beforeAnswer?.();
      if (options.refuse) return Promise.resolve('refused' as const);
      const answer: SubjectKeyLeaseAnswer = {
        leaseSeconds: Math.min(seconds, options.maxSeconds ?? 60),
        leases: subjects.map((subjectId) =>
          destroyed.has(subjectId)
            ? { subjectId, ok: false as const, error: { code: 'CRYPTO.KEY_DESTROYED' } }
            : { subjectId, ok: true as const, keyId: subjectId, keyVersion: 1, key: keyOf(subjectId).toString('base64'), seals },
        ),
      };
      return Promise.resolve(answer);
    },
  };
  return {
    service,
    keyOf,
    destroyed,
    asked,
    sealCalls: () => sealCalls,
    onLease: (hook: () => void) => (beforeAnswer = hook),
  };
}

function vaultOver(fake: ReturnType<typeof fakeEncryptionService>, overrides: { sealsPerLease?: number; maxLeases?: number } = {}) {
  let now = 1_000;
  const dropped: DropReason[] = [];
  const vault = new LeasedKeyVault({
    onDrop: (reason) => dropped.push(reason),
    service: fake.service,
    leaseSeconds: 60,
    sealsPerLease: overrides.sealsPerLease ?? 100,
    maxLeases: overrides.maxLeases ?? 1000,
    logger: silentLogger,
    now: () => now,
  });
  vault.setListening(true);
  return { vault, dropped, advance: (ms: number) => (now += ms) };
}

const request = (subjectId: string, plaintext = '{"ip":"192.0.2.1"}'): SealRequest => ({
  eventId: `ev-${randomBytes(6).toString('hex')}`,
  subjectId,
  plaintext,
});

/** Opens what the vault sealed, as encryption-service would: the subject's key and the record's context. */
function open(fake: ReturnType<typeof fakeEncryptionService>, sealed: SealResult, req: SealRequest): string {
  if (!('ciphertext' in sealed)) throw new Error(`withheld: ${sealed.withheld}`);
  const context = { tenant: encryptionTenantOf(TENANT), keyring: 'subjects', field: PERSONAL_FIELD_NAME, recordId: req.eventId };
  return decryptField(Buffer.from(sealed.ciphertext, 'base64'), context, {
    id: req.subjectId,
    version: 1,
    material: fake.keyOf(req.subjectId),
  }).toString();
}

describe('LeasedKeyVault', () => {
  it('seals in process under the leased subject key, with the context encryption-service opens', async () => {
    const fake = fakeEncryptionService();
    const { vault } = vaultOver(fake);
    const requests = [request('user-ada', '{"ip":"192.0.2.7"}'), request('user-grace'), request('user-ada', '{"userAgent":"Firefox"}')];
    const sealed = await vault.seal(TENANT, requests);
    expect(fake.asked).toEqual([{ subjects: ['user-ada', 'user-grace'], seals: 100 }]);
    expect(fake.sealCalls()).toBe(0);
    expect(requests.map((r, i) => open(fake, sealed[i]!, r))).toEqual(requests.map((r) => r.plaintext));
    expect(readCiphertextHeader(Buffer.from((sealed[0] as { ciphertext: string }).ciphertext, 'base64'))).toMatchObject({
      keyId: 'user-ada',
      keyVersion: 1,
    });
    // The wrong record id (another record's context) does not open it.
    expect(() => open(fake, sealed[0]!, { ...requests[0]!, eventId: 'another' })).toThrow();
    expect(vault.held).toBe(2);
  });

  it('asks again only when a lease ends or its seals run out', async () => {
    const fake = fakeEncryptionService();
    const { vault, advance, dropped } = vaultOver(fake, { sealsPerLease: 3 });
    await vault.seal(TENANT, [request('user-ada'), request('user-ada')]);
    await vault.seal(TENANT, [request('user-ada')]);
    expect(fake.asked).toHaveLength(1);
    // Three seals reserved, three used: the next one needs a new lease.
    await vault.seal(TENANT, [request('user-ada')]);
    expect(fake.asked).toHaveLength(2);
    advance(59_000);
    await vault.seal(TENANT, [request('user-ada')]);
    expect(fake.asked).toHaveLength(2);
    advance(1_000);
    await vault.seal(TENANT, [request('user-ada')]);
    expect(fake.asked).toHaveLength(3);
    // A batch needing more seals than a lease holds asks for that many.
    await vault.seal(
      TENANT,
      Array.from({ length: 5 }, () => request('user-grace')),
    );
    expect(fake.asked[3]).toEqual({ subjects: ['user-grace'], seals: 5 });
    expect(dropped).toEqual(['renewed', 'renewed']);
  });

  it('keeps a lease no longer than encryption-service granted, and drops ended leases on sweep', async () => {
    const fake = fakeEncryptionService({ maxSeconds: 10 });
    const { vault, advance, dropped } = vaultOver(fake);
    await vault.seal(TENANT, [request('user-ada')]);
    advance(10_000);
    vault.sweep();
    expect(vault.held).toBe(0);
    expect(dropped).toEqual(['expired']);
    await vault.seal(TENANT, [request('user-ada')]);
    expect(fake.asked).toHaveLength(2);
  });

  it('drops a shredded subject at once and withholds their later records without asking again', async () => {
    const fake = fakeEncryptionService();
    const { vault, dropped } = vaultOver(fake);
    await vault.seal(TENANT, [request('user-ada'), request('user-grace')]);
    vault.forget(encryptionTenantOf(TENANT), 'subjects', 'user-ada');
    expect(vault.held).toBe(1);
    expect(dropped).toEqual(['shredded']);
    const [ada, grace] = await vault.seal(TENANT, [request('user-ada'), request('user-grace')]);
    expect(ada).toEqual({ withheld: 'subject-erased' });
    expect(grace).toHaveProperty('ciphertext');
    expect(fake.asked).toHaveLength(1);
    // A shred in another keyring or tenant is not this subject's.
    vault.forget(encryptionTenantOf(TENANT), 'other-keyring', 'user-grace');
    vault.forget('other-tenant', 'subjects', 'user-grace');
    expect(vault.held).toBe(1);
  });

  it('withholds the records of a subject encryption-service answers as destroyed, and remembers it', async () => {
    const fake = fakeEncryptionService();
    fake.destroyed.add('user-ada');
    const { vault } = vaultOver(fake);
    expect(await vault.seal(TENANT, [request('user-ada')])).toEqual([{ withheld: 'subject-erased' }]);
    expect(await vault.seal(TENANT, [request('user-ada')])).toEqual([{ withheld: 'subject-erased' }]);
    expect(fake.asked).toHaveLength(1);
  });

  it('discards a lease answered after the subject was shredded meanwhile', async () => {
    const fake = fakeEncryptionService();
    const { vault } = vaultOver(fake);
    fake.onLease(() => vault.forget(encryptionTenantOf(TENANT), 'subjects', 'user-ada'));
    expect(await vault.seal(TENANT, [request('user-ada')])).toEqual([{ withheld: 'subject-erased' }]);
    expect(vault.held).toBe(0);
  });

  it('holds no key while shred events may be missed, and seals through encryption-service then', async () => {
    const fake = fakeEncryptionService();
    const { vault, dropped } = vaultOver(fake);
    await vault.seal(TENANT, [request('user-ada')]);
    vault.setListening(false);
    expect(vault.held).toBe(0);
    expect(dropped).toEqual(['unheard']);
    expect(await vault.seal(TENANT, [request('user-ada')])).toEqual([{ ciphertext: 'sealed-by-encryption-service' }]);
    expect(fake.sealCalls()).toBe(1);
    expect(fake.asked).toHaveLength(1);
    // A listener lost while a lease call is in flight: its answer is not kept, the batch is retried.
    vault.setListening(true);
    fake.onLease(() => vault.setListening(false));
    await expect(vault.seal(TENANT, [request('user-grace')])).rejects.toThrow(/no key held/);
    expect(vault.held).toBe(0);
  });

  it('falls back to sealing through encryption-service for good when it will not lease to this caller', async () => {
    const fake = fakeEncryptionService({ refuse: true });
    const { vault } = vaultOver(fake);
    expect(await vault.seal(TENANT, [request('user-ada')])).toEqual([{ ciphertext: 'sealed-by-encryption-service' }]);
    await vault.seal(TENANT, [request('user-grace')]);
    expect(fake.asked).toHaveLength(1);
    expect(fake.sealCalls()).toBe(2);
  });

  it('withholds personal data over 64 KiB, as encryption-service does', async () => {
    const fake = fakeEncryptionService();
    const { vault } = vaultOver(fake);
    expect(await vault.seal(TENANT, [request('user-ada', `"${'x'.repeat(65_536)}"`)])).toEqual([{ withheld: 'too-large' }]);
  });

  it('keeps at most maxLeases keys once a batch is sealed, dropping the oldest', async () => {
    const fake = fakeEncryptionService();
    const { vault, dropped } = vaultOver(fake, { maxLeases: 2 });
    const sealed = await vault.seal(TENANT, [request('a'), request('b'), request('c')]);
    expect(sealed.every((s) => 'ciphertext' in s)).toBe(true);
    expect(vault.held).toBe(2);
    expect(dropped).toEqual(['evicted']);
    await vault.seal(TENANT, [request('a')]);
    expect(fake.asked.at(-1)!.subjects).toEqual(['a']);
  });

  it('refuses a lease for another key than the subject asked for', async () => {
    const fake = fakeEncryptionService();
    const lease = fake.service.lease.bind(fake.service);
    fake.service.lease = async (...args) => {
      const answer = await lease(...args);
      if (answer === 'refused') return answer;
      return { ...answer, leases: answer.leases.map((l) => (l.ok ? { ...l, keyId: 'someone-else' } : l)) };
    };
    const { vault } = vaultOver(fake);
    await expect(vault.seal(TENANT, [request('user-ada')])).rejects.toBeInstanceOf(PersonalDataRefusedError);
  });
});
