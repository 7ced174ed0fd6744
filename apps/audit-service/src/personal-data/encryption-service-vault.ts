import { TraceoError } from '@traceo/contracts';
import { encryptionTenantOf } from './personal-data';
import type { OpenResult, PersonalDataVault, SealRequest, SealResult } from './personal-data-vault';

/** encryption-service could not seal a batch; the consumer retries it (the records are not lost). */
export class PersonalDataSealingError extends TraceoError {
  readonly code = 'AUDIT.PERSONAL_DATA_SEALING_FAILED';
  readonly status = 503;
  override readonly retryable = true;
}

/**
 * encryption-service refused one record's personal data for a reason retrying cannot fix; the
 * consumer isolates that record and dead-letters it with this reason instead of stalling the log.
 */
export class PersonalDataRefusedError extends TraceoError {
  readonly code = 'AUDIT.PERSONAL_DATA_REFUSED';
  readonly status = 422;
}

export interface EncryptionServiceVaultOptions {
  /** e.g. http://encryption-service:8080 */
  baseUrl: string;
  /** The credential audit-service calls encryption-service with (secret). */
  apiKey: string;
  /** The subject keyring shared by the platform (purpose `subject`), created on first use. */
  keyring: string;
  timeoutMs?: number;
}

/** The field name and batch size used with encryption-service. */
export const PERSONAL_FIELD_NAME = 'audit.personal';
const BATCH = 1000;

interface FieldError {
  code: string;
}

/** encryption-service's answer to a subject-key lease (see its SubjectKeyLeases). */
export interface SubjectKeyLeaseAnswer {
  leaseSeconds: number;
  leases: (
    | { subjectId: string; ok: true; keyId: string; keyVersion: number; key: string; seals: number }
    | {
        subjectId: string;
        ok: false;
        error: FieldError;
      }
  )[];
}
type FieldResult = { ok: true; ciphertext?: string; plaintext?: string } | { ok: false; error: FieldError };

/**
 * Seals and opens audit personal data through encryption-service's subject keyring API: one batch call
 * per (tenant, up to 1,000 records). Each record's personal fields are one field ciphertext under the
 * data subject's key, bound to the tenant, the keyring, the field name and the record's event id.
 * Shredding the subject in encryption-service makes them unreadable; the log, which hashes the
 * ciphertext, still verifies.
 */
export class EncryptionServiceVault implements PersonalDataVault {
  readonly keyring: string;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly knownKeyrings = new Set<string>();

  constructor(private readonly options: EncryptionServiceVaultOptions) {
    this.keyring = options.keyring;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async seal(tenant: string, requests: readonly SealRequest[]): Promise<SealResult[]> {
    const results: SealResult[] = [];
    for (let start = 0; start < requests.length; start += BATCH) {
      const chunk = requests.slice(start, start + BATCH);
      const fields = chunk.map((r) => ({
        field: PERSONAL_FIELD_NAME,
        recordId: r.eventId,
        plaintext: r.plaintext,
        subjectId: r.subjectId,
      }));
      const answer = await this.call(tenant, 'encrypt', { fields }, true);
      for (const [i, result] of answer.entries()) {
        if (result.ok && result.ciphertext) results.push({ ciphertext: result.ciphertext });
        else if (!result.ok && result.error.code === 'CRYPTO.KEY_DESTROYED') results.push({ withheld: 'subject-erased' });
        // Over 64 KiB of personal data: the record is kept, its personal fields are not (marked, never silently).
        else if (!result.ok && result.error.code === 'CRYPTO.INPUT_TOO_LARGE') results.push({ withheld: 'too-large' });
        else if (!result.ok && !['CRYPTO.HSM_UNAVAILABLE', 'UNKNOWN'].includes(result.error.code)) {
          throw new PersonalDataRefusedError(`encryption-service refused to seal record ${chunk[i]!.eventId}: ${errorCode(result)}`);
        } else throw new PersonalDataSealingError(`encryption-service could not seal record ${chunk[i]!.eventId}: ${errorCode(result)}`);
      }
    }
    return results;
  }

  async open(tenant: string, sealed: readonly { eventId: string; ciphertext: string }[]): Promise<OpenResult[]> {
    const results: OpenResult[] = [];
    for (let start = 0; start < sealed.length; start += BATCH) {
      const chunk = sealed.slice(start, start + BATCH);
      let answer: FieldResult[];
      try {
        answer = await this.call(
          tenant,
          'decrypt',
          { fields: chunk.map((s) => ({ field: PERSONAL_FIELD_NAME, recordId: s.eventId, ciphertext: s.ciphertext })) },
          false,
        );
      } catch {
        for (const _ of chunk) results.push({ state: 'unavailable' });
        continue;
      }
      for (const result of answer) {
        if (result.ok && result.plaintext !== undefined) results.push({ plaintext: result.plaintext });
        else results.push({ state: !result.ok && result.error.code === 'CRYPTO.KEY_DESTROYED' ? 'erased' : 'unavailable' });
      }
    }
    return results;
  }

  /**
   * Leases the keys of up to 1,000 subjects of `tenant` for `seconds`, each for `seals` seals, or
   * `refused` when encryption-service does not let this caller lease (TRACEO_SUBJECT_KEY_LEASE_CLIENTS).
   */
  async lease(tenant: string, subjects: readonly string[], seals: number, seconds: number): Promise<SubjectKeyLeaseAnswer | 'refused'> {
    const encryptionTenant = encryptionTenantOf(tenant);
    await this.ensureKeyring(encryptionTenant);
    const response = await this.request('POST', `/v1/encryption/tenants/${encryptionTenant}/keyrings/${this.keyring}/subject-keys/leases`, {
      subjects,
      seals,
      seconds,
    });
    if (response.status === 200) return response.body as SubjectKeyLeaseAnswer;
    if (response.status === 403) return 'refused';
    const code = (response.body as { code?: string }).code;
    throw new PersonalDataSealingError(`encryption-service answered ${response.status} ${code ?? ''} to a subject-key lease`.trim());
  }

  /**
   * One batch call; answers one result per field. A batch where every field failed comes back as one
   * problem+json: its `errors` lines ("fields[i]: CODE: detail") give each field's code.
   */
  private async call(
    tenant: string,
    operation: 'encrypt' | 'decrypt',
    body: { fields: unknown[] },
    createKeyring: boolean,
  ): Promise<FieldResult[]> {
    const encryptionTenant = encryptionTenantOf(tenant);
    if (createKeyring) await this.ensureKeyring(encryptionTenant);
    const response = await this.request('POST', `/v1/encryption/tenants/${encryptionTenant}/keyrings/${this.keyring}/${operation}`, body);
    if (response.status === 200) return (response.body as { results: FieldResult[] }).results;
    const problem = response.body as { code?: string; errors?: string[] };
    if (Array.isArray(problem.errors) && problem.errors.length === body.fields.length && response.status < 500) {
      return problem.errors.map((line) => ({ ok: false, error: { code: /^fields\[\d+\]: ([A-Z_.]+):/.exec(line)?.[1] ?? 'UNKNOWN' } }));
    }
    if (response.status === 404 && problem.code === 'CRYPTO.KEYRING_NOT_FOUND' && operation === 'decrypt') {
      return body.fields.map(() => ({ ok: false, error: { code: 'CRYPTO.KEYRING_NOT_FOUND' } }));
    }
    throw new PersonalDataSealingError(`encryption-service answered ${response.status} ${problem.code ?? ''} to ${operation}`.trim());
  }

  private async ensureKeyring(encryptionTenant: string): Promise<void> {
    if (this.knownKeyrings.has(encryptionTenant)) return;
    const response = await this.request('POST', `/v1/encryption/tenants/${encryptionTenant}/keyrings`, {
      keyringId: this.keyring,
      purpose: 'subject',
    });
    const code = (response.body as { code?: string }).code;
    if (response.status !== 201 && code !== 'CRYPTO.KEYRING_EXISTS') {
      throw new PersonalDataSealingError(
        `encryption-service could not provide the subject keyring: ${response.status} ${code ?? ''}`.trim(),
      );
    }
    this.knownKeyrings.add(encryptionTenant);
  }

  private async request(method: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new PersonalDataSealingError(`encryption-service is unreachable: ${(error as Error).name}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    return { status: response.status, body: parsed };
  }
}

function errorCode(result: FieldResult): string {
  return result.ok ? 'no ciphertext' : result.error.code;
}
