import { Inject, Injectable } from '@nestjs/common';
import { ForbiddenError } from '@traceo/security';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { EncryptionConfig } from '../encryption-service.config';
import { DataKeys } from './data-keys';
import { KeyEvents } from './key-events';
import type { Actor } from './keyring';
import { FIELD_FAILURE_STATUS, FieldFailure, KeyringNotFoundError, KeyringPurposeMismatchError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';
import { SubjectKeys, unwrapHeldKey, usableSubjectKey } from './subject-keys';
import type { FieldError } from './field-crypto.usecase';

export const MAX_LEASE_SUBJECTS = 1000;
/** The most seals one lease may reserve per subject (each is counted as an encryption up front). */
export const MAX_SEALS_PER_LEASE = 1_000_000;

export type SubjectKeyLease =
  | {
      subjectId: string;
      ok: true;
      /** The key id and version a ciphertext sealed with it must name (the subject id, version 1). */
      keyId: string;
      keyVersion: 1;
      /** The unwrapped data key, base64. */
      key: string;
      /** How many seals the lease covers (already counted as encryptions of this key). */
      seals: number;
    }
  | { subjectId: string; ok: false; error: FieldError };

export interface LeaseAnswer {
  /** When the keys must be forgotten: the holder uses them for `leaseSeconds` from receipt at most. */
  expiresAt: string;
  leaseSeconds: number;
  leases: SubjectKeyLease[];
}

/**
 * Subject-key leases: a permitted caller (TRACEO_SUBJECT_KEY_LEASE_CLIENTS, in practice audit-service)
 * takes the unwrapped keys of up to MAX_LEASE_SUBJECTS data subjects and seals with them in its own
 * process, with libs/crypto `encryptField` and the same encryption context, so the ciphertexts are the
 * ones this service would have made and it opens them as usual. Each lease reserves its seals as
 * encryptions up front (the counters stay an upper bound), is one audit record naming the subjects,
 * and ends after `leaseSeconds`; shredding a subject publishes traceo.crypto.subject-shredded.v1, on
 * which holders drop that subject's key. A shredded subject gets no key (CRYPTO.KEY_DESTROYED).
 */
@Injectable()
export class SubjectKeyLeases {
  private readonly clients: ReadonlySet<string>;
  private readonly maxSeconds: number;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<EncryptionConfig>,
    private readonly keyrings: KeyringRepository,
    private readonly subjectKeys: SubjectKeys,
    private readonly dataKeys: DataKeys,
    private readonly events: KeyEvents,
  ) {
    this.clients = new Set(runtime.config.TRACEO_SUBJECT_KEY_LEASE_CLIENTS);
    this.maxSeconds = runtime.config.TRACEO_SUBJECT_KEY_LEASE_SECONDS;
  }

  async lease(
    tenantId: string,
    keyringId: string,
    request: { subjects: readonly string[]; seals: number; seconds?: number },
    actor: Actor,
  ): Promise<LeaseAnswer> {
    if (!this.clients.has(actor.id)) {
      throw new ForbiddenError('this caller may not lease subject keys (TRACEO_SUBJECT_KEY_LEASE_CLIENTS)');
    }
    const keyring = await this.keyrings.findKeyring(tenantId, keyringId);
    if (!keyring) throw new KeyringNotFoundError('no such keyring');
    if (keyring.purpose !== 'subject') throw new KeyringPurposeMismatchError('only subject keyrings hold per-subject keys');
    const subjects = [...new Set(request.subjects)];
    const leaseSeconds = Math.min(request.seconds ?? this.maxSeconds, this.maxSeconds);
    const keys = await this.subjectKeys.findOrCreate(tenantId, keyring, subjects);
    const failures = new Map<string, number>();
    const leases = subjects.map((subjectId): SubjectKeyLease => {
      try {
        const ref = { tenantId, keyringId: keyring.keyringId, subjectId };
        const material = unwrapHeldKey(
          this.dataKeys,
          ref,
          usableSubjectKey(keys.get(subjectId)),
          keyring,
          'the stored key cannot be opened',
        );
        return { subjectId, ok: true, keyId: subjectId, keyVersion: 1, key: material.toString('base64'), seals: request.seals };
      } catch (error) {
        if (!(error instanceof FieldFailure)) throw error;
        failures.set(error.code, (failures.get(error.code) ?? 0) + 1);
        return { subjectId, ok: false, error: { code: error.code, status: FIELD_FAILURE_STATUS[error.code], detail: error.message } };
      }
    });
    const leased = new Map(leases.filter((l) => l.ok).map((l) => [l.subjectId, request.seals]));
    // One autocommit statement, before any key leaves: the reserved seals are counted even if the answer is lost.
    await this.keyrings.countSubjectUse(this.runtime.dataSource.manager, tenantId, keyringId, leased, 'encryptions');
    await this.events.record({
      tenantId,
      actor,
      action: 'crypto.subject-keys-leased',
      keyringId,
      purpose: 'subject',
      keyVersions: leased.size > 0 ? [1] : [],
      fields: subjects.length,
      subjects: subjects.length,
      failures,
      details: { subjectIds: subjects, sealsPerSubject: request.seals, leaseSeconds },
    });
    return { expiresAt: new Date(Date.now() + leaseSeconds * 1000).toISOString(), leaseSeconds, leases };
  }
}
