import { Inject, Injectable } from '@nestjs/common';
import { CryptoError, decryptField, encryptField, readCiphertextHeader, type BlindIndexKind, type CiphertextHeader } from '@traceo/crypto';
import type { TypedEvent } from '@traceo/contracts';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { Coalescer } from './coalescer';
import { DataKeys, type KeyRef } from './data-keys';
import { KeyEvents, type KeyEvent } from './key-events';
import type { Actor, Keyring, KeyVersion } from './keyring';
import { KeyringAdmin } from './keyring-admin.usecase';
import {
  BatchFailedError,
  FIELD_FAILURE_STATUS,
  FieldFailure,
  KeyringNotFoundError,
  KeyringPurposeMismatchError,
  type FieldFailureCode,
} from './keyring.errors';
import { KeyringRepository, type SubjectKeyRow } from './keyring.repository';
import { parseRangeValue, SearchTokens, type RangeType } from './search-tokens';
import { SubjectKeys, unwrapHeldKey, usableSubjectKey, type WrappedKeyHolder } from './subject-keys';

export const MAX_BATCH_FIELDS = 1000;
/** How long a reservation's view of a keyring's active version is used to seal before confirming (see encryptOptimistically). */
const LAST_ACTIVE_MS = 1000;
/** Keyrings whose last reservation is remembered, at most (the least recently reserved are forgotten first). */
const LAST_ACTIVE_MAX = 10_000;
export const MAX_PLAINTEXT_BYTES = 65_536;
/** A ciphertext of the largest plaintext: header with a 255-byte key id, plus the tag. */
export const MAX_CIPHERTEXT_BYTES = MAX_PLAINTEXT_BYTES + 51 + 255 + 16;

export interface TokenRequest {
  /** Blind-index normalisation; when set, the result carries an equality token. */
  equality?: BlindIndexKind;
  /** For numeric or time values; when set, the result carries a range token. */
  range?: RangeType;
}

export interface EncryptItem extends TokenRequest {
  field: string;
  recordId: string;
  plaintext: string;
  /** Required for subject keyrings: the data subject whose key seals this field. */
  subjectId?: string;
}

export interface DecryptItem {
  field: string;
  recordId: string;
  ciphertext: string;
}

export type RewrapItem = DecryptItem & TokenRequest;

export interface IndexKeyrings {
  equalityKeyringId?: string;
  rangeKeyringId?: string;
}

export interface FieldError {
  code: FieldFailureCode;
  status: number;
  detail: string;
}

export type FieldResult<T> = ({ ok: true } & T) | { ok: false; error: FieldError };

export interface SealedField {
  ciphertext: string;
  keyVersion: number;
  equalityToken?: string;
  rangeToken?: string;
}

interface Batch {
  tenantId: string;
  keyring: Keyring;
  actor: Actor;
}

interface IndexKeys {
  equality?: { keyring: Keyring; version: KeyVersion };
  range?: { keyring: Keyring; version: KeyVersion };
}

/**
 * Field encryption, decryption and rewrap, batched (up to MAX_BATCH_FIELDS). Each field succeeds or
 * fails on its own; a batch where every field failed is one problem+json. Usage counters and the
 * audit record + key event are written once per call, never per field.
 */
@Injectable()
export class FieldCrypto {
  /** Reservations of concurrent calls on one keyring, one statement per group (each call's count still exact). */
  private readonly reservations = new Coalescer<number, Awaited<ReturnType<KeyringRepository['findKeyringReserving']>>>(
    async (key, counts) => {
      const [tenantId, keyringId] = splitKey(key);
      const found = await this.keyrings.findKeyringReserving(
        tenantId,
        keyringId,
        counts.reduce((sum, n) => sum + n, 0),
      );
      return counts.map(() => found);
    },
  );
  /** Decryption counters of concurrent calls on one keyring, one statement per group. */
  private readonly decryptionCounts = new Coalescer<ReadonlyMap<number, VersionUse>, void>(async (key, uses) => {
    const [tenantId, keyringId] = splitKey(key);
    const merged = new Map<number, VersionUse>();
    for (const use of uses) {
      for (const [version, { decryptions, rewrappedAway }] of use) {
        const entry = merged.get(version) ?? { decryptions: 0, rewrappedAway: 0 };
        entry.decryptions += decryptions;
        entry.rewrappedAway += rewrappedAway;
        merged.set(version, entry);
      }
    }
    await this.keyrings.countUse(this.runtime.dataSource.manager, tenantId, keyringId, merged);
    return uses.map(() => undefined);
  });

  /**
   * Per keyring, the version the last reservation found active (kept LAST_ACTIVE_MS at most). An
   * encrypt call seals under it straight away and confirms afterwards (encryptOptimistically).
   */
  private readonly lastActive = new Map<string, { keyring: Keyring; version: KeyVersion; until: number }>();
  /** Confirmations of concurrent calls under one keyring version, one statement per group. */
  private readonly confirmations = new Coalescer<{ count: number; events: readonly TypedEvent[] }, boolean>(async (key, uses) => {
    // Tenant and keyring ids never contain '|'.
    const [tenantId, keyringId, version] = key.split('|') as [string, string, string];
    const confirmed = await this.keyrings.confirmEncryptions(
      tenantId,
      keyringId,
      Number(version),
      uses.reduce((sum, use) => sum + use.count, 0),
      uses.flatMap((use) => use.events),
    );
    if (confirmed) this.runtime.relay.notify();
    return uses.map(() => confirmed);
  });

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly keyrings: KeyringRepository,
    private readonly admin: KeyringAdmin,
    private readonly dataKeys: DataKeys,
    private readonly tokens: SearchTokens,
    private readonly events: KeyEvents,
    private readonly subjectKeys: SubjectKeys,
  ) {}

  async encrypt(
    tenantId: string,
    keyringId: string,
    items: readonly EncryptItem[],
    index: IndexKeyrings,
    actor: Actor,
  ): Promise<FieldResult<SealedField>[]> {
    // Why each field cannot be sealed (undefined: it can), worked out once per call.
    const checks = items.map((item) => this.checkPlaintext(item));
    const confirmed = await this.encryptOptimistically(tenantId, keyringId, items, checks, actor);
    if (confirmed) return confirmed;
    const { keyring, reserved } = await this.keyringForEncryption(tenantId, keyringId, items, checks);
    const indexKeys = await this.indexKeys(tenantId, index, items);
    const batch = { tenantId, keyring, actor };
    const results =
      keyring.purpose === 'subject'
        ? await this.encryptForSubjects(batch, items, checks, indexKeys)
        : await this.encryptWithVersion(batch, items, checks, indexKeys, reserved);
    return this.finish(batch, 'crypto.encrypt', results, keyVersionsOf(results));
  }

  async decrypt(
    tenantId: string,
    keyringId: string,
    items: readonly DecryptItem[],
    actor: Actor,
  ): Promise<FieldResult<{ plaintext: string; keyVersion: number }>[]> {
    const decoded = decodeAll(items);
    // The keyring and the versions the headers name, in one query.
    const found = await this.keyrings.findKeyringWithVersions(tenantId, keyringId, versionsNamed(decoded));
    const batch = { tenantId, keyring: sealable(found?.keyring), actor };
    const opened = await this.open(batch, items, decoded, found?.versions);
    const results = opened.map((result) =>
      result.ok ? { ok: true as const, plaintext: result.plaintext.toString('utf8'), keyVersion: result.keyVersion } : result,
    );
    await this.countDecryptions(batch, opened, 'decryptions');
    return this.finish(batch, 'crypto.decrypt', results, keyVersionsOf(results), opened.auditReasons);
  }

  /**
   * Re-seals ciphertexts under the active version (and refreshes their tokens under the active index
   * versions) without the plaintext ever leaving the service. A field already under the active
   * version keeps its ciphertext; only its tokens are recomputed, so this also rebuilds indexes.
   */
  async rewrap(
    tenantId: string,
    keyringId: string,
    items: readonly RewrapItem[],
    index: IndexKeyrings,
    actor: Actor,
  ): Promise<FieldResult<SealedField & { rewrapped: boolean }>[]> {
    const keyring = await this.sealingKeyring(tenantId, keyringId);
    if (keyring.purpose === 'subject')
      throw new KeyringPurposeMismatchError('subject keys do not rotate, so there is nothing to rewrap to');
    const batch = { tenantId, keyring, actor };
    const indexKeys = await this.indexKeys(tenantId, index, items);
    const opened = await this.open(batch, items);
    const active = (await this.keyrings.searchableVersions(tenantId, keyringId)).find((v) => v.state === 'active');
    const stale = opened.filter((r) => r.ok && r.keyVersion !== active?.version).length;
    const target = stale > 0 ? await this.reserve(batch, stale) : active;
    const results: FieldResult<SealedField & { rewrapped: boolean }>[] = opened.map((result, i) => {
      if (!result.ok) return result;
      const item = items[i]!;
      return this.attempt(() => {
        if (!target) throw new FieldFailure('CRYPTO.KEY_VERSION_NOT_FOUND', 'the keyring has no active version');
        const rewrapped = result.keyVersion !== target.version;
        const ciphertext = rewrapped
          ? this.seal(
              batch,
              item,
              result.plaintext,
              this.unwrap(batch, { tenantId, keyringId, version: target.version }, target),
              keyringId,
              target.version,
            )
          : Buffer.from(item.ciphertext, 'base64');
        return {
          ciphertext: ciphertext.toString('base64'),
          keyVersion: target.version,
          rewrapped,
          ...this.tokensFor(indexKeys, item, result.plaintext.toString('utf8')),
        };
      });
    });
    for (const result of opened) if (result.ok) result.plaintext.fill(0);
    await this.countDecryptions(
      batch,
      opened.map((r, i) => (r.ok && results[i]!.ok && (results[i] as { rewrapped: boolean }).rewrapped ? r : { ok: false as const })),
      'rewrappedAway',
    );
    return this.finish(batch, 'crypto.rewrap', results, keyVersionsOf(results), opened.auditReasons);
  }

  private async sealingKeyring(tenantId: string, keyringId: string): Promise<Keyring> {
    return sealable(await this.keyrings.findKeyring(tenantId, keyringId));
  }

  /**
   * The keyring to seal with. When the batch has fields to seal and asks for no search tokens, its
   * encryptions are reserved in the same statement (one round trip instead of two); with tokens the
   * index keyrings are checked first, so a bad index keyring still fails before anything is counted.
   */
  private async keyringForEncryption(
    tenantId: string,
    keyringId: string,
    items: readonly EncryptItem[],
    checks: readonly (FieldFailure | undefined)[],
  ): Promise<{ keyring: Keyring; reserved?: KeyVersion }> {
    const valid = checks.filter((failure) => failure === undefined).length;
    if (valid === 0 || asksForTokens(items)) return { keyring: await this.sealingKeyring(tenantId, keyringId) };
    // Grouped with concurrent calls on this keyring: when the group's total would pass the limit, no
    // one is reserved and each call reserves alone (rotating if need be) in encryptWithVersion.
    const key = coalescingKey(tenantId, keyringId);
    const found = await this.reservations.submit(key, valid);
    const keyring = sealable(found?.keyring);
    if (!found?.reserved) return { keyring };
    this.remember(key, keyring, found.reserved);
    return { keyring, reserved: found.reserved };
  }

  private remember(key: string, keyring: Keyring, version: KeyVersion): void {
    // Deleted first so that the Map's order is the order of the last reservation.
    this.lastActive.delete(key);
    this.lastActive.set(key, { keyring, version, until: Date.now() + LAST_ACTIVE_MS });
    if (this.lastActive.size > LAST_ACTIVE_MAX) this.lastActive.delete(this.lastActive.keys().next().value!);
  }

  /**
   * One round trip instead of two for the common call (a field keyring, no search tokens): seals under
   * the version the last reservation found active, then counts the encryptions and writes the audit
   * record and key event in one statement that also checks the version is still active and under its
   * limit. When it is not (rotated meanwhile, by this or another replica, or the limit reached), nothing
   * was counted or recorded: the ciphertexts are dropped unseen and the call goes the reserving way.
   * Answers undefined whenever the reserving way must run.
   */
  private async encryptOptimistically(
    tenantId: string,
    keyringId: string,
    items: readonly EncryptItem[],
    checks: readonly (FieldFailure | undefined)[],
    actor: Actor,
  ): Promise<FieldResult<SealedField>[] | undefined> {
    const key = coalescingKey(tenantId, keyringId);
    const last = this.lastActive.get(key);
    if (!last || last.until < Date.now()) return undefined;
    // Index keyrings named but no field asking for a token: no tokens either way (indexKeys loads none).
    if (asksForTokens(items) || checks.every((failure) => failure !== undefined)) return undefined;
    const batch = { tenantId, keyring: last.keyring, actor };
    const results = await this.encryptWithVersion(batch, items, checks, {}, last.version);
    const sealed = results.filter((r) => r.ok).length;
    // Nothing sealed (e.g. the HSM could not unwrap): the reserving way reports it as usual.
    if (sealed === 0) return undefined;
    const events = this.events.build(this.usageEvent(batch, 'crypto.encrypt', results, keyVersionsOf(results)));
    if (await this.confirmations.submit(`${key}|${last.version.version}`, { count: sealed, events })) return results;
    if (this.lastActive.get(key) === last) this.lastActive.delete(key);
    return undefined;
  }

  /** The active version with `count` more encryptions counted; rotates first when the usage limit would be passed. */
  private async reserve(batch: Batch, count: number): Promise<KeyVersion> {
    const { tenantId, keyring } = batch;
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = await this.keyrings.reserveEncryptions(tenantId, keyring.keyringId, count);
      if (version) return version;
      // No active version under its limit: rotate (once, under the keyring lock; a concurrent caller may already have).
      await this.runtime.dataSource.transaction(async (manager) => {
        const locked = await this.keyrings.lockKeyring(manager, tenantId, keyring.keyringId);
        if (!locked) throw new KeyringNotFoundError('no such keyring');
        const [row] = await manager.query<{ encryptions: string }[]>(
          `SELECT encryptions FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 AND state = 'active'`,
          [tenantId, keyring.keyringId],
        );
        if (count > locked.maxEncryptionsPerVersion) {
          throw new BatchFailedError([
            { index: 0, code: 'CRYPTO.BAD_INPUT', message: 'the batch is larger than the per-version encryption limit' },
          ]);
        }
        if (!row || Number(row.encryptions) + count > locked.maxEncryptionsPerVersion) {
          await this.admin.rotateLocked(manager, locked, SYSTEM_ROTATOR, 'usage-limit');
        }
      });
    }
    throw new Error('could not reserve encryptions under a fresh active version');
  }

  /** `reserved`: the active version with this batch's encryptions already counted (see keyringForEncryption). */
  private async encryptWithVersion(
    batch: Batch,
    items: readonly EncryptItem[],
    checks: readonly (FieldFailure | undefined)[],
    indexKeys: IndexKeys,
    reserved?: KeyVersion,
  ): Promise<FieldResult<SealedField>[]> {
    const valid = checks.filter((failure) => failure === undefined).length;
    if (valid === 0) {
      return checks.map((failure) =>
        this.attempt<SealedField>(() => {
          throw failure!;
        }),
      );
    }
    const version = reserved ?? (await this.reserve(batch, valid));
    const ref = { tenantId: batch.tenantId, keyringId: batch.keyring.keyringId, version: version.version };
    return items.map((item, i) =>
      this.attempt(() => {
        const failure = checks[i];
        if (failure) throw failure;
        // Looked up per field, right before use: the cache may zero a key it expires while the
        // batch's search tokens are made.
        const material = this.unwrap(batch, ref, version);
        const plaintext = Buffer.from(item.plaintext, 'utf8');
        return {
          ciphertext: this.seal(batch, item, plaintext, material, batch.keyring.keyringId, version.version).toString('base64'),
          keyVersion: version.version,
          ...this.tokensFor(indexKeys, item, item.plaintext),
        };
      }),
    );
  }

  private async encryptForSubjects(
    batch: Batch,
    items: readonly EncryptItem[],
    checks: readonly (FieldFailure | undefined)[],
    indexKeys: IndexKeys,
  ): Promise<FieldResult<SealedField>[]> {
    const { tenantId, keyring } = batch;
    const subjects = [...new Set(items.map((item) => item.subjectId).filter((s): s is string => s !== undefined))];
    const keys = await this.subjectKeys.findOrCreate(tenantId, keyring, subjects);
    const used = new Map<string, number>();
    const results = items.map((item, i) =>
      this.attempt(() => {
        if (item.subjectId === undefined) throw new FieldFailure('CRYPTO.BAD_INPUT', 'a subject keyring needs the subjectId of each field');
        const failure = checks[i];
        if (failure) throw failure;
        const key = usableSubjectKey(keys.get(item.subjectId));
        const ref = { tenantId, keyringId: keyring.keyringId, subjectId: item.subjectId };
        const ciphertext = this.seal(batch, item, Buffer.from(item.plaintext, 'utf8'), this.unwrap(batch, ref, key), item.subjectId, 1);
        used.set(item.subjectId, (used.get(item.subjectId) ?? 0) + 1);
        return { ciphertext: ciphertext.toString('base64'), keyVersion: 1, ...this.tokensFor(indexKeys, item, item.plaintext) };
      }),
    );
    // One autocommit statement: the counter rows stay locked for the statement alone.
    await this.keyrings.countSubjectUse(this.runtime.dataSource.manager, tenantId, keyring.keyringId, used, 'encryptions');
    return results;
  }

  /** `material`: the unwrapped data key (DataKeys' cached Buffer) named by `keyId` and `version`. */
  private seal(
    batch: Batch,
    item: { field: string; recordId: string },
    plaintext: Buffer,
    material: Buffer,
    keyId: string,
    version: number,
  ): Buffer {
    return guardCrypto(() =>
      encryptField(
        plaintext,
        { tenant: batch.tenantId, keyring: batch.keyring.keyringId, field: item.field, recordId: item.recordId },
        { id: keyId, version, material },
      ),
    );
  }

  private unwrap(batch: Batch, ref: KeyRef, key: WrappedKeyHolder): Buffer {
    return unwrapHeldKey(this.dataKeys, ref, key, batch.keyring, 'the ciphertext cannot be opened here');
  }

  /**
   * Opens each ciphertext with the key its header names, checking the key's state first. `versions`:
   * the keyring's versions already read with it (decrypt); read here when not given.
   */
  private async open(
    batch: Batch,
    items: readonly DecryptItem[],
    decoded: readonly Decoded[] = decodeAll(items),
    versions?: ReadonlyMap<number, KeyVersion>,
  ): Promise<Opened> {
    const { tenantId, keyring } = batch;
    const auditReasons = new Map<string, number>();
    const subjectKeys =
      keyring.purpose === 'subject'
        ? await this.keyrings.findSubjectKeys(tenantId, keyring.keyringId, [
            ...new Set(decoded.filter(isDecoded).map((d) => d.header.keyId)),
          ])
        : new Map<string, SubjectKeyRow>();
    const keyVersions =
      keyring.purpose === 'subject'
        ? new Map<number, KeyVersion>()
        : (versions ?? (await this.keyrings.findVersions(tenantId, keyring.keyringId, versionsNamed(decoded))));
    const results = items.map((item, i) => {
      const entry = decoded[i]!;
      return this.attempt(
        () => {
          if (entry instanceof Error) throw entry;
          const { bytes, header } = entry;
          let ref: KeyRef;
          let key: WrappedKeyHolder;
          if (keyring.purpose === 'subject') {
            key = usableSubjectKey(subjectKeys.get(header.keyId), 'decrypt');
            ref = { tenantId, keyringId: keyring.keyringId, subjectId: header.keyId };
            if (header.keyVersion !== 1) throw new FieldFailure('CRYPTO.KEY_VERSION_NOT_FOUND', 'subject keys have one version');
          } else {
            if (header.keyId !== keyring.keyringId) {
              throw new FieldFailure(
                'CRYPTO.INTEGRITY_CHECK_FAILED',
                'the ciphertext cannot be opened here',
                'sealed under another key id',
              );
            }
            key = usableVersion(keyring, keyVersions.get(header.keyVersion), header.keyVersion);
            ref = { tenantId, keyringId: keyring.keyringId, version: header.keyVersion };
          }
          const material = this.unwrap(batch, ref, key);
          const plaintext = guardCrypto(() =>
            decryptField(
              bytes,
              { tenant: tenantId, keyring: keyring.keyringId, field: item.field, recordId: item.recordId },
              { id: header.keyId, version: header.keyVersion, material },
            ),
          );
          return { plaintext, keyVersion: header.keyVersion, subjectId: keyring.purpose === 'subject' ? header.keyId : undefined };
        },
        (failure) => {
          const reason = failure.auditReason ?? failure.code;
          auditReasons.set(reason, (auditReasons.get(reason) ?? 0) + 1);
        },
      );
    });
    return Object.assign(results, { auditReasons });
  }

  private async countDecryptions(
    batch: Batch,
    opened: readonly ({ ok: false } | { ok: true; keyVersion: number; subjectId?: string })[],
    column: 'decryptions' | 'rewrappedAway',
  ): Promise<void> {
    const { tenantId, keyring } = batch;
    const byVersion = new Map<number, VersionUse>();
    const bySubject = new Map<string, number>();
    for (const result of opened) {
      if (!result.ok) continue;
      if (result.subjectId !== undefined) {
        bySubject.set(result.subjectId, (bySubject.get(result.subjectId) ?? 0) + 1);
        continue;
      }
      const entry = byVersion.get(result.keyVersion) ?? { decryptions: 0, rewrappedAway: 0 };
      entry[column] += 1;
      byVersion.set(result.keyVersion, entry);
    }
    // A keyring has either versions or subject keys, so at most one of these runs: one autocommit
    // statement (for versions, shared with concurrent calls on the keyring), which keeps the (shared,
    // hot) counter rows locked for the statement alone rather than across round trips to this process.
    if (byVersion.size > 0) await this.decryptionCounts.submit(coalescingKey(tenantId, keyring.keyringId), byVersion);
    await this.keyrings.countSubjectUse(this.runtime.dataSource.manager, tenantId, keyring.keyringId, bySubject, 'decryptions');
  }

  private async indexKeys(tenantId: string, index: IndexKeyrings, items: readonly TokenRequest[]): Promise<IndexKeys> {
    const wantsEquality = items.some((item) => item.equality !== undefined);
    const wantsRange = items.some((item) => item.range !== undefined);
    const load = async (keyringId: string | undefined, purpose: 'blind-index' | 'range', wanted: boolean) => {
      if (!wanted) return undefined;
      if (!keyringId) {
        throw new KeyringPurposeMismatchError(
          `fields ask for ${purpose} tokens: name the ${purpose} keyring (${purpose === 'range' ? 'rangeKeyringId' : 'equalityKeyringId'})`,
        );
      }
      const keyring = await this.keyrings.findKeyring(tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError(`no such ${purpose} keyring`);
      if (keyring.purpose !== purpose) throw new KeyringPurposeMismatchError(`keyring ${keyringId} is not a ${purpose} keyring`);
      const version = (await this.keyrings.searchableVersions(tenantId, keyringId)).find((v) => v.state === 'active');
      if (!version) throw new KeyringPurposeMismatchError(`keyring ${keyringId} has no active version`);
      return { keyring, version };
    };
    const equality = await load(index.equalityKeyringId, 'blind-index', wantsEquality);
    const range = await load(index.rangeKeyringId, 'range', wantsRange);
    return { ...(equality ? { equality } : {}), ...(range ? { range } : {}) };
  }

  private tokensFor(
    indexKeys: IndexKeys,
    item: TokenRequest & { field: string },
    value: string,
  ): { equalityToken?: string; rangeToken?: string } {
    const tokens: { equalityToken?: string; rangeToken?: string } = {};
    if (item.equality !== undefined && indexKeys.equality) {
      tokens.equalityToken = this.tokens.equality(indexKeys.equality.keyring, indexKeys.equality.version, item.field, item.equality, value);
    }
    if (item.range !== undefined && indexKeys.range) {
      const parsed = parseRangeValue(item.range, value);
      tokens.rangeToken = this.tokens.range(indexKeys.range.keyring, indexKeys.range.version, item.field, item.range, parsed);
    }
    return tokens;
  }

  private checkPlaintext(item: EncryptItem): FieldFailure | undefined {
    if (Buffer.byteLength(item.plaintext, 'utf8') > MAX_PLAINTEXT_BYTES) {
      return new FieldFailure('CRYPTO.INPUT_TOO_LARGE', `a field value may be at most ${MAX_PLAINTEXT_BYTES} bytes`);
    }
    if (item.range !== undefined) {
      try {
        parseRangeValue(item.range, item.plaintext);
      } catch (error) {
        if (error instanceof FieldFailure) return error;
        throw error;
      }
    }
    return undefined;
  }

  private attempt<T>(operation: () => T, onFailure?: (failure: FieldFailure) => void): FieldResult<T> {
    try {
      return { ok: true, ...operation() };
    } catch (error) {
      if (!(error instanceof FieldFailure)) throw error;
      onFailure?.(error);
      return { ok: false, error: { code: error.code, status: FIELD_FAILURE_STATUS[error.code], detail: error.message } };
    }
  }

  /** The audit record and key event of one call: what it did, under which versions, what failed. */
  private usageEvent<T>(
    batch: Batch,
    action: 'crypto.encrypt' | 'crypto.decrypt' | 'crypto.rewrap',
    results: readonly FieldResult<T>[],
    keyVersions: number[],
    auditReasons?: ReadonlyMap<string, number>,
  ): KeyEvent {
    const failures = new Map<string, number>();
    for (const result of results) if (!result.ok) failures.set(result.error.code, (failures.get(result.error.code) ?? 0) + 1);
    const reasons = auditReasons && auditReasons.size > 0 ? { reasons: Object.fromEntries(auditReasons) } : {};
    return {
      tenantId: batch.tenantId,
      actor: batch.actor,
      action,
      keyringId: batch.keyring.keyringId,
      purpose: batch.keyring.purpose,
      keyVersions,
      fields: results.length,
      failures,
      details: reasons,
    };
  }

  /** Records the call, then answers: per-field results, or one problem+json when every field failed. */
  private async finish<T>(
    batch: Batch,
    action: 'crypto.encrypt' | 'crypto.decrypt' | 'crypto.rewrap',
    results: FieldResult<T>[],
    keyVersions: number[],
    auditReasons?: ReadonlyMap<string, number>,
  ): Promise<FieldResult<T>[]> {
    await this.events.record(this.usageEvent(batch, action, results, keyVersions, auditReasons));
    if (results.length > 0 && results.every((r) => !r.ok)) {
      throw new BatchFailedError(
        results.map((r, index) => {
          const { error } = r.ok ? { error: undefined } : r;
          return { index, code: error!.code, message: error!.detail };
        }),
      );
    }
    return results;
  }
}

interface VersionUse {
  decryptions: number;
  rewrappedAway: number;
}

// Tenant and keyring ids never contain '|' (validated at the HTTP boundary).
function coalescingKey(tenantId: string, keyringId: string): string {
  return `${tenantId}|${keyringId}`;
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
}

type Opened = FieldResult<{ plaintext: Buffer; keyVersion: number; subjectId?: string }>[] & { auditReasons: Map<string, number> };

/** A ciphertext's bytes and header, or why it cannot be read (reported for that field alone). */
type Decoded = { bytes: Buffer; header: CiphertextHeader } | Error;

function decodeAll(items: readonly DecryptItem[]): Decoded[] {
  return items.map((item) => {
    try {
      const bytes = decodeCiphertext(item.ciphertext);
      return { bytes, header: guardCrypto(() => readCiphertextHeader(bytes)) };
    } catch (error) {
      if (error instanceof Error) return error;
      throw error;
    }
  });
}

function isDecoded(entry: Decoded): entry is { bytes: Buffer; header: CiphertextHeader } {
  return !(entry instanceof Error);
}

function versionsNamed(decoded: readonly Decoded[]): number[] {
  return [...new Set(decoded.filter(isDecoded).map((d) => d.header.keyVersion))];
}

function sealable(keyring: Keyring | undefined): Keyring {
  if (!keyring) throw new KeyringNotFoundError('no such keyring');
  if (keyring.purpose !== 'field' && keyring.purpose !== 'subject') {
    throw new KeyringPurposeMismatchError(`a ${keyring.purpose} keyring makes tokens, it does not encrypt`);
  }
  return keyring;
}

const SYSTEM_ROTATOR: Actor = { type: 'system', id: 'encryption-service/usage-limit' };

/** Whether any field asks for an equality or range token. */
function asksForTokens(items: readonly TokenRequest[]): boolean {
  return items.some((item) => item.equality !== undefined || item.range !== undefined);
}

function keyVersionsOf(results: readonly FieldResult<{ keyVersion: number }>[]): number[] {
  return results.filter((r): r is { ok: true; keyVersion: number } => r.ok).map((r) => r.keyVersion);
}

function usableVersion(keyring: Keyring, version: KeyVersion | undefined, requested: number): KeyVersion {
  if (!version) throw new FieldFailure('CRYPTO.KEY_VERSION_NOT_FOUND', `the keyring has no version ${requested}`);
  if (version.state === 'destroyed') throw new FieldFailure('CRYPTO.KEY_DESTROYED', `key version ${requested} was destroyed`);
  if (version.state === 'retired') throw new FieldFailure('CRYPTO.KEY_RETIRED', `key version ${requested} is retired`);
  if (requested < keyring.minDecryptionVersion) {
    throw new FieldFailure(
      'CRYPTO.KEY_VERSION_BELOW_MINIMUM',
      `key version ${requested} is below the keyring's minimum decryption version`,
    );
  }
  return version;
}

function decodeCiphertext(value: string): Buffer {
  if (value.length > Math.ceil(MAX_CIPHERTEXT_BYTES / 3) * 4)
    throw new FieldFailure('CRYPTO.INPUT_TOO_LARGE', 'the ciphertext is too large');
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new FieldFailure('CRYPTO.MALFORMED_BASE64', 'the ciphertext is not canonical base64');
  }
  return Buffer.from(value, 'base64');
}

function guardCrypto<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    switch (error.code) {
      case 'CRYPTO.UNSUPPORTED_FORMAT':
        throw new FieldFailure('CRYPTO.UNSUPPORTED_FORMAT', 'the bytes are not a ciphertext this service reads');
      case 'CRYPTO.KEY_COMMITMENT_MISMATCH':
        throw new FieldFailure('CRYPTO.INTEGRITY_CHECK_FAILED', 'the ciphertext cannot be opened here', 'key commitment mismatch');
      case 'CRYPTO.INTEGRITY_CHECK_FAILED':
        throw new FieldFailure('CRYPTO.INTEGRITY_CHECK_FAILED', 'the ciphertext cannot be opened here', 'authentication tag mismatch');
      case 'CRYPTO.BAD_INPUT':
        throw new FieldFailure('CRYPTO.BAD_INPUT', error.message);
    }
  }
}
