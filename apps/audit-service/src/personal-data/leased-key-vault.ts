import { encryptField, forgetDataKey } from '@traceo/crypto';
import type { MessagingLogger } from '@traceo/messaging';
import {
  PERSONAL_FIELD_NAME,
  PersonalDataRefusedError,
  PersonalDataSealingError,
  type EncryptionServiceVault,
} from './encryption-service-vault';
import { encryptionTenantOf } from './personal-data';
import type { OpenResult, PersonalDataVault, SealRequest, SealResult } from './personal-data-vault';

/** encryption-service seals at most this much in one field; larger personal data is withheld, as there. */
const MAX_PLAINTEXT_BYTES = 65_536;
/** Subjects per lease call (encryption-service's limit). */
const LEASE_BATCH = 1000;
/** Seals a subject's records under one lease until this many seals, then leases again. */
export const SEALS_PER_LEASE = 10_000;
/** Shredded subjects remembered, at most (a forgotten one is answered KEY_DESTROYED by the next lease call). */
const SHREDDED_MAX = 100_000;

/** What the leasing vault needs of encryption-service (EncryptionServiceVault). */
export type SubjectKeyService = Pick<EncryptionServiceVault, 'keyring' | 'seal' | 'open' | 'lease'>;

export interface LeasedKeyVaultOptions {
  /** Asks encryption-service for leases, opens ciphertexts, and seals whenever leasing is off. */
  readonly service: SubjectKeyService;
  /** How long a leased key is used from when it was asked for (encryption-service may shorten it). */
  readonly leaseSeconds: number;
  /** Seals reserved per subject and lease; a subject that uses them up gets a new lease. */
  readonly sealsPerLease: number;
  /** Subjects whose keys are held at once, at most (the least recently leased are dropped first). */
  readonly maxLeases: number;
  readonly logger: MessagingLogger;
  /** Told of every key dropped, and why (for a metric). */
  readonly onDrop?: (reason: DropReason) => void;
  /** Milliseconds, monotonic (tests move it). */
  readonly now?: () => number;
}

/**
 * Why a held key was dropped: its subject was shredded, its lease ended, too many keys were held, a
 * new lease replaced it, shred events could no longer be seen (or the service stopped), or
 * encryption-service stopped leasing to this caller.
 */
export type DropReason = 'shredded' | 'expired' | 'evicted' | 'renewed' | 'unheard' | 'refused';

interface Lease {
  readonly material: Buffer;
  readonly expiresAt: number;
  remaining: number;
}

/**
 * Seals personal data in this process with leased data-subject keys (encryption-service's subject-key
 * leases), so a record costs a local `encryptField` instead of a share of an HTTP call and a counter
 * row in encryption-service. The ciphertexts are the ones encryption-service would make (same key,
 * key id, version and encryption context), and encryption-service opens them as before.
 *
 * Keys live in memory only, bounded in number, each until its lease ends or its seals are used up,
 * and are zeroed when dropped. Leases are used only while `listening` is true: the owner sets it
 * from the traceo.crypto.subject-shredded.v1 listener, and calls `forget` for each shred, so a
 * shredded subject's key is dropped within the event's delivery time; while the listener cannot see
 * new events (start-up, Kafka down, a rejoin), every key is dropped and sealing goes through
 * encryption-service.
 * When encryption-service refuses to lease (this caller is not in TRACEO_SUBJECT_KEY_LEASE_CLIENTS),
 * sealing goes through encryption-service for good.
 */
export class LeasedKeyVault implements PersonalDataVault {
  readonly keyring: string;
  private readonly leases = new Map<string, Lease>();
  /** `tenant|subject` of subjects known to be shredded: never leased again, their records withheld. */
  private readonly shredded = new Set<string>();
  private listening = false;
  private refused = false;
  private readonly now: () => number;

  constructor(private readonly options: LeasedKeyVaultOptions) {
    this.keyring = options.service.keyring;
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether shred events are being seen; without them no key is held. */
  setListening(listening: boolean): void {
    this.listening = listening;
    if (!listening) this.dropAll('unheard');
  }

  /** A subject was shredded in `tenant` (encryption-service's tenant id): drop its key and never lease it again. */
  forget(encryptionTenant: string, keyring: string, subjectId: string): void {
    if (keyring !== this.keyring) return;
    const slot = slotOf(encryptionTenant, subjectId);
    this.drop(slot, 'shredded');
    this.shredded.delete(slot);
    this.shredded.add(slot);
    if (this.shredded.size > SHREDDED_MAX) this.shredded.delete(this.shredded.values().next().value!);
  }

  /** Keys held now (for metrics and tests). */
  get held(): number {
    return this.leases.size;
  }

  async seal(tenant: string, requests: readonly SealRequest[]): Promise<SealResult[]> {
    if (!this.listening || this.refused) return this.options.service.seal(tenant, requests);
    const encryptionTenant = encryptionTenantOf(tenant);
    const needed = new Map<string, number>();
    for (const request of requests) needed.set(request.subjectId, (needed.get(request.subjectId) ?? 0) + 1);
    const now = this.now();
    const toLease = [...needed].filter(([subjectId, count]) => {
      const slot = slotOf(encryptionTenant, subjectId);
      if (this.shredded.has(slot)) return false;
      const lease = this.leases.get(slot);
      return !lease || lease.expiresAt <= now || lease.remaining < count;
    });
    for (let start = 0; start < toLease.length; start += LEASE_BATCH) {
      const batch = toLease.slice(start, start + LEASE_BATCH);
      const seals = Math.max(this.options.sealsPerLease, ...batch.map(([, count]) => count));
      const leased = await this.takeLeases(
        tenant,
        encryptionTenant,
        batch.map(([subjectId]) => subjectId),
        seals,
      );
      if (!leased) return this.options.service.seal(tenant, requests);
    }
    const results = requests.map((request) => this.sealOne(encryptionTenant, request));
    // Trimmed after sealing, so a batch with more subjects than maxLeases still finds all of its keys.
    while (this.leases.size > this.options.maxLeases) this.drop(this.leases.keys().next().value!, 'evicted');
    return results;
  }

  open(tenant: string, sealed: readonly { eventId: string; ciphertext: string }[]): Promise<OpenResult[]> {
    return this.options.service.open(tenant, sealed);
  }

  /** Drops every key (zeroed); at shutdown, and whenever shred events may be missed. */
  dropAll(reason: DropReason): void {
    for (const slot of [...this.leases.keys()]) this.drop(slot, reason);
  }

  /** Drops the keys whose lease ended. */
  sweep(): void {
    const now = this.now();
    for (const [slot, lease] of this.leases) if (lease.expiresAt <= now) this.drop(slot, 'expired');
  }

  private sealOne(encryptionTenant: string, request: SealRequest): SealResult {
    const slot = slotOf(encryptionTenant, request.subjectId);
    if (this.shredded.has(slot)) return { withheld: 'subject-erased' };
    const plaintext = Buffer.from(request.plaintext, 'utf8');
    if (plaintext.length > MAX_PLAINTEXT_BYTES) return { withheld: 'too-large' };
    const lease = this.leases.get(slot);
    // takeLeases leased every subject this batch needs or threw; a shred event may have dropped one since.
    if (!lease || lease.remaining <= 0 || lease.expiresAt <= this.now()) {
      throw new PersonalDataSealingError(`no key held for the subject of record ${request.eventId}; the batch is retried`);
    }
    lease.remaining -= 1;
    const ciphertext = encryptField(
      plaintext,
      { tenant: encryptionTenant, keyring: this.keyring, field: PERSONAL_FIELD_NAME, recordId: request.eventId },
      { id: request.subjectId, version: 1, material: lease.material },
    );
    return { ciphertext: ciphertext.toString('base64') };
  }

  /** False when encryption-service does not let this process lease (sealing then goes through it). */
  private async takeLeases(tenant: string, encryptionTenant: string, subjects: string[], seals: number): Promise<boolean> {
    const askedAt = this.now();
    const answer = await this.options.service.lease(tenant, subjects, seals, this.options.leaseSeconds);
    if (answer === 'refused') {
      this.refused = true;
      this.dropAll('refused');
      this.options.logger.warn(
        { keyring: this.keyring },
        'encryption-service does not lease subject keys to this service (TRACEO_SUBJECT_KEY_LEASE_CLIENTS); personal data is sealed through it',
      );
      return false;
    }
    // Counted from when the lease was asked for, so it never outlives encryption-service's view of it.
    const expiresAt = askedAt + Math.min(answer.leaseSeconds, this.options.leaseSeconds) * 1000;
    for (const lease of answer.leases) {
      const slot = slotOf(encryptionTenant, lease.subjectId);
      if (!lease.ok) {
        if (lease.error.code === 'CRYPTO.KEY_DESTROYED') this.forget(encryptionTenant, this.keyring, lease.subjectId);
        else if (['CRYPTO.HSM_UNAVAILABLE', 'UNKNOWN'].includes(lease.error.code)) {
          throw new PersonalDataSealingError(`encryption-service could not lease a subject key: ${lease.error.code}`);
        } else throw new PersonalDataRefusedError(`encryption-service refused to lease a subject key: ${lease.error.code}`);
        continue;
      }
      if (lease.keyId !== lease.subjectId || lease.keyVersion !== 1) {
        throw new PersonalDataRefusedError(`encryption-service leased key ${lease.keyId} v${lease.keyVersion} for another subject key`);
      }
      // A shred seen while this call was in flight wins over its answer; so does a lost listener.
      if (this.shredded.has(slot) || !this.listening) continue;
      this.drop(slot, 'renewed');
      this.leases.set(slot, { material: Buffer.from(lease.key, 'base64'), expiresAt, remaining: lease.seals });
    }
    return true;
  }

  private drop(slot: string, reason: DropReason): void {
    const lease = this.leases.get(slot);
    if (!lease) return;
    this.leases.delete(slot);
    forgetDataKey(lease.material);
    lease.material.fill(0);
    this.options.onDrop?.(reason);
  }
}

// Tenant ids never contain '|' (encryptionTenantOf).
function slotOf(encryptionTenant: string, subjectId: string): string {
  return `${encryptionTenant}|${subjectId}`;
}
