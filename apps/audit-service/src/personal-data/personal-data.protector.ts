import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson, type AuditRecordV1 } from '@traceo/contracts';
import { PERSONAL_DATA_VAULT, type PersonalDataVault } from './personal-data-vault';
import { splitPersonalData, subjectOf, type PersonalData, type PersonalDataState, type SealedPersonalData } from './personal-data';

/** A record on its way into the log, or out of it. */
export interface ProtectedRecord {
  readonly eventId: string;
  readonly record: AuditRecordV1;
  readonly personal?: SealedPersonalData;
}

export interface RevealedRecord {
  readonly record: AuditRecordV1;
  /** Absent when the record has no sealed personal data. */
  readonly personalData?: PersonalDataState;
}

/**
 * Seals the personal fields of records that have a data subject before they are appended (so the
 * Merkle leaf hashes the ciphertext, never the personal data) and opens them again for readers.
 */
@Injectable()
export class PersonalDataProtector {
  constructor(@Inject(PERSONAL_DATA_VAULT) private readonly vault: PersonalDataVault) {}

  async protect<T extends ProtectedRecord>(tenant: string, records: readonly T[]): Promise<T[]> {
    const pending: { index: number; subjectId: string; rest: AuditRecordV1; personal: PersonalData }[] = [];
    records.forEach((item, index) => {
      const subjectId = subjectOf(item.record);
      if (subjectId === undefined) return;
      const { rest, personal } = splitPersonalData(item.record);
      if (personal) pending.push({ index, subjectId, rest, personal });
    });
    if (pending.length === 0) return [...records];
    const sealed = await this.vault.seal(
      tenant,
      pending.map((p) => ({ eventId: records[p.index]!.eventId, subjectId: p.subjectId, plaintext: canonicalJson(p.personal) })),
    );
    const out = [...records];
    pending.forEach((p, i) => {
      const result = sealed[i]!;
      const personal: SealedPersonalData =
        // Members in RFC 8785 order (the entry that carries them is hashed as canonical JSON).
        'ciphertext' in result
          ? { ciphertext: result.ciphertext, keyring: this.vault.keyring, subjectId: p.subjectId }
          : { keyring: this.vault.keyring, subjectId: p.subjectId, withheld: result.withheld };
      out[p.index] = { ...records[p.index]!, record: p.rest, personal };
    });
    return out;
  }

  /** The records with their personal fields put back where the subject's key still exists. */
  async reveal(tenant: string, records: readonly ProtectedRecord[]): Promise<RevealedRecord[]> {
    const sealed = records.flatMap((item, index) =>
      item.personal?.ciphertext ? [{ index, eventId: item.eventId, ciphertext: item.personal.ciphertext }] : [],
    );
    const opened = sealed.length > 0 ? await this.vault.open(tenant, sealed) : [];
    const out: RevealedRecord[] = records.map((item) =>
      item.personal
        ? {
            record: item.record,
            personalData: item.personal.withheld === 'subject-erased' ? 'erased' : item.personal.withheld ? 'withheld' : 'unavailable',
          }
        : { record: item.record },
    );
    sealed.forEach(({ index }, i) => {
      const result = opened[i]!;
      if ('plaintext' in result) {
        out[index] = { record: { ...records[index]!.record, ...(JSON.parse(result.plaintext) as PersonalData) }, personalData: 'revealed' };
      } else {
        out[index] = { record: records[index]!.record, personalData: result.state };
      }
    });
    return out;
  }
}
