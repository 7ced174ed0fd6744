import { createHash } from 'node:crypto';
import type { AuditRecordV1 } from '@traceo/contracts';

/** The fields of an audit record that are personal data: sealed under the data subject's key before they reach the log. */
export const PERSONAL_FIELDS = ['after', 'before', 'deviceFingerprint', 'ip', 'userAgent'] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number];
export type PersonalData = Partial<Pick<AuditRecordV1, PersonalField>>;

/**
 * What the log keeps instead of the personal fields. `ciphertext` is an encryption-service field
 * ciphertext (subject keyring, field `audit.personal`, record id = event id). `withheld` is set instead
 * when the personal fields were never stored: the subject had already been erased when the record
 * arrived, or they were larger than encryption-service seals in one field (64 KiB).
 */
export interface SealedPersonalData {
  readonly subjectId: string;
  readonly keyring: string;
  readonly ciphertext?: string;
  readonly withheld?: 'subject-erased' | 'too-large';
}

/** How a reader sees a record's personal data. */
export type PersonalDataState = 'revealed' | 'erased' | 'withheld' | 'unavailable';

const SUBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The data subject a record's personal data belongs to: its `subjectId`, else the acting user. Records
 * acted by services, API clients or the system have no subject, and their fields (a service's address,
 * a client library's user agent) are kept as they are: they describe machines, not people.
 */
export function subjectOf(record: AuditRecordV1): string | undefined {
  const subject = record.subjectId ?? (record.actor.type === 'user' ? record.actor.id : undefined);
  return subject === undefined ? undefined : subjectKeyId(subject);
}

/**
 * The id of a subject's key in encryption-service: the subject id itself when encryption-service
 * accepts it, else `sha256-` and 40 hex digits of its SHA-256. Erasing a person means shredding this id.
 */
export function subjectKeyId(subject: string): string {
  return SUBJECT_ID.test(subject) ? subject : `sha256-${createHash('sha256').update(subject, 'utf8').digest('hex').slice(0, 40)}`;
}

/** The encryption-service tenant that holds an audit tenant's subject keys (same rule as subjectKeyId). */
export function encryptionTenantOf(tenant: string): string {
  return TENANT_ID.test(tenant) ? tenant : `t-${createHash('sha256').update(tenant, 'utf8').digest('hex').slice(0, 40)}`;
}

/** Splits a record into what is logged in the clear and its personal fields (undefined when it has none). */
export function splitPersonalData(record: AuditRecordV1): { rest: AuditRecordV1; personal: PersonalData | undefined } {
  // Both parts are built member by member in the record's order (deleting members would leave V8 a
  // slow dictionary object; a sorted record stays sorted for canonicalJson).
  const rest: Record<string, unknown> = {};
  let personal: Record<string, unknown> | undefined;
  for (const field of Object.keys(record) as (keyof AuditRecordV1)[]) {
    const value = record[field];
    if (value === undefined) continue;
    if (PERSONAL.has(field)) (personal ??= {})[field] = value;
    else rest[field] = value;
  }
  return { rest: rest as AuditRecordV1, personal };
}

const PERSONAL: ReadonlySet<string> = new Set(PERSONAL_FIELDS);
