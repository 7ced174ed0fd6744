import type { AuditRecordV1 } from '@traceo/contracts';
import { encryptionTenantOf, splitPersonalData, subjectKeyId, subjectOf } from './personal-data';
import type { OpenResult, PersonalDataVault, SealRequest, SealResult } from './personal-data-vault';
import { PersonalDataProtector, type ProtectedRecord } from './personal-data.protector';

const base: AuditRecordV1 = {
  occurredAt: '2026-11-24T12:00:00.000Z',
  actor: { type: 'user', id: 'ada' },
  action: 'account.email-changed',
  resource: { type: 'account', id: 'ada' },
  status: 'success',
  ip: '203.0.113.10',
  userAgent: 'Mozilla/5.0',
  before: { email: 'a@old.example' },
  after: { email: 'a@new.example' },
  country: 'GB',
};

/** A vault double: "seals" by reversing the text, answers erased for subjects in `erased`. Unit test only. */
class ReversingVault implements PersonalDataVault {
  readonly keyring = 'subjects';
  readonly erased = new Set<string>();
  readonly sealed: SealRequest[] = [];
  seal(_tenant: string, requests: readonly SealRequest[]): Promise<SealResult[]> {
    this.sealed.push(...requests);
    return Promise.resolve(
      requests.map((r) =>
        this.erased.has(r.subjectId) ? { withheld: 'subject-erased' as const } : { ciphertext: [...r.plaintext].reverse().join('') },
      ),
    );
  }
  open(_tenant: string, sealed: readonly { eventId: string; ciphertext: string }[]): Promise<OpenResult[]> {
    return Promise.resolve(
      sealed.map((s) =>
        s.ciphertext.includes('erase-me') ? { state: 'erased' as const } : { plaintext: [...s.ciphertext].reverse().join('') },
      ),
    );
  }
}

describe('personal data in audit records', () => {
  it('takes the subject from subjectId, else a user actor; machines have none', () => {
    expect(subjectOf(base)).toBe('ada');
    expect(subjectOf({ ...base, subjectId: 'user-42' })).toBe('user-42');
    expect(subjectOf({ ...base, actor: { type: 'service', id: 'auth-service' } })).toBeUndefined();
    expect(subjectOf({ ...base, actor: { type: 'api-client', id: 'app' }, subjectId: 'ada' })).toBe('ada');
  });

  it('maps ids encryption-service cannot take to a stable digest', () => {
    expect(subjectKeyId('user:42@acme')).toBe('user:42@acme');
    const hashed = subjectKeyId('Ada Lovelace/1815');
    expect(hashed).toMatch(/^sha256-[0-9a-f]{40}$/);
    expect(subjectKeyId('Ada Lovelace/1815')).toBe(hashed);
    expect(encryptionTenantOf('acme')).toBe('acme');
    expect(encryptionTenantOf('Acme Corp')).toMatch(/^t-[0-9a-f]{40}$/);
  });

  it('splits exactly the personal fields out of a record', () => {
    const { rest, personal } = splitPersonalData(base);
    expect(personal).toEqual({ ip: base.ip, userAgent: base.userAgent, before: base.before, after: base.after });
    expect(rest).toEqual({
      occurredAt: base.occurredAt,
      actor: base.actor,
      action: base.action,
      resource: base.resource,
      status: 'success',
      country: 'GB',
    });
    expect(splitPersonalData({ ...rest }).personal).toBeUndefined();
  });

  it('seals subject records before they are logged and reveals them for readers', async () => {
    const vault = new ReversingVault();
    const protector = new PersonalDataProtector(vault);
    const machine = { ...base, actor: { type: 'service' as const, id: 'ops' } };
    const [sealed, untouched] = await protector.protect<ProtectedRecord>('acme', [
      { eventId: 'e1', record: base },
      { eventId: 'e2', record: machine },
    ]);
    expect(sealed!.record.ip).toBeUndefined();
    expect(sealed!.personal).toMatchObject({ subjectId: 'ada', keyring: 'subjects', ciphertext: expect.any(String) });
    expect(JSON.stringify(sealed)).not.toContain('203.0.113.10');
    expect(untouched).toEqual({ eventId: 'e2', record: machine });
    expect(vault.sealed).toHaveLength(1);

    const [revealed, plain] = await protector.reveal('acme', [sealed!, untouched!]);
    expect(revealed).toEqual({ record: { ...base }, personalData: 'revealed' });
    expect(plain).toEqual({ record: machine });
  });

  it('stores nothing personal for a subject already erased, and reports erased and unavailable states', async () => {
    const vault = new ReversingVault();
    vault.erased.add('ada');
    const protector = new PersonalDataProtector(vault);
    const [withheld] = await protector.protect<ProtectedRecord>('acme', [{ eventId: 'e1', record: base }]);
    expect(withheld!.personal).toEqual({ subjectId: 'ada', keyring: 'subjects', withheld: 'subject-erased' });
    expect(JSON.stringify(withheld)).not.toMatch(/203\.0\.113\.10|Mozilla|old\.example/);
    const [shown] = await protector.reveal('acme', [withheld!]);
    expect(shown).toEqual({ record: withheld!.record, personalData: 'erased' });

    const [gone] = await protector.reveal('acme', [
      { eventId: 'e3', record: withheld!.record, personal: { subjectId: 'ada', keyring: 'subjects', ciphertext: 'erase-me' } },
    ]);
    expect(gone!.personalData).toBe('erased');
  });
});
