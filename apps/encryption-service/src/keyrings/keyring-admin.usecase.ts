import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { EntityManager } from 'typeorm';
import { DataKeys, type WrappedDataKey } from './data-keys';
import { KeyEvents } from './key-events';
import {
  DEFAULT_MAX_ENCRYPTIONS_PER_VERSION,
  type Actor,
  type Keyring,
  type KeyringPolicy,
  type KeyringPurpose,
  type KeyringView,
  type Wrapping,
} from './keyring';
import {
  InvalidKeyPolicyError,
  KeyringExistsError,
  KeyringNotFoundError,
  KeyringPurposeMismatchError,
  KeyVersionInUseError,
  KeyVersionNotFoundError,
  KeyVersionStateError,
} from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

export interface CreateKeyringInput {
  keyringId: string;
  purpose: KeyringPurpose;
  wrapping?: Wrapping;
  rotationPeriodSeconds?: number | null;
  maxEncryptionsPerVersion?: number;
  blindIndexTokenBytes?: number;
}

export type PolicyChange = Partial<
  Pick<KeyringPolicy, 'wrapping' | 'rotationPeriodSeconds' | 'maxEncryptionsPerVersion' | 'minDecryptionVersion'>
>;

export type RotationReason = 'manual' | 'scheduled' | 'usage-limit';

/**
 * The key lifecycle: keyrings, rotation (manual, scheduled, usage-limit), wrapping changes that
 * rewrap stored data keys without touching ciphertexts, retirement that is refused while ciphertexts
 * may still depend on a version, and irreversible destruction. Each change is one transaction with
 * its audit record and key event.
 */
@Injectable()
export class KeyringAdmin {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
    private readonly events: KeyEvents,
  ) {}

  async create(tenantId: string, input: CreateKeyringInput, actor: Actor): Promise<KeyringView> {
    const wrapping = input.wrapping ?? 'classic';
    const pq = wrapping === 'hybrid-pq' ? this.dataKeys.newKeyPair(tenantId, input.keyringId) : undefined;
    const keyring: Keyring = {
      tenantId,
      keyringId: input.keyringId,
      purpose: input.purpose,
      wrapping,
      pqPublicKey: pq?.pqPublicKey ?? null,
      pqSecretKeyWrapped: pq?.pqSecretKeyWrapped ?? null,
      rotationPeriodSeconds: input.purpose === 'subject' ? null : (input.rotationPeriodSeconds ?? null),
      maxEncryptionsPerVersion: input.maxEncryptionsPerVersion ?? DEFAULT_MAX_ENCRYPTIONS_PER_VERSION,
      minDecryptionVersion: 1,
      blindIndexTokenBytes: input.blindIndexTokenBytes ?? 16,
    };
    if (input.purpose === 'subject' && input.rotationPeriodSeconds) {
      throw new InvalidKeyPolicyError('subject keyrings hold one key per data subject and do not rotate');
    }
    if (input.purpose !== 'blind-index' && input.blindIndexTokenBytes !== undefined) {
      throw new InvalidKeyPolicyError('blindIndexTokenBytes applies to blind-index keyrings only');
    }
    // Subject keyrings have no versions: each subject's key is created on its first encryption.
    const first =
      input.purpose === 'subject' ? undefined : this.dataKeys.create({ tenantId, keyringId: input.keyringId, version: 1 }, keyring);
    await this.runtime.dataSource.transaction(async (manager) => {
      if (!(await this.keyrings.insertKeyring(manager, keyring))) {
        throw new KeyringExistsError('a keyring with this id already exists for the tenant');
      }
      if (first) await this.keyrings.insertActiveVersion(manager, { tenantId, keyringId: input.keyringId, version: 1 }, first, 'created');
      await this.events.record(
        {
          tenantId,
          actor,
          action: 'crypto.keyring-created',
          keyringId: input.keyringId,
          purpose: input.purpose,
          keyVersions: first ? [1] : [],
          fields: 0,
          details: { wrapping, kekId: this.dataKeys.kekId, rotationPeriodSeconds: keyring.rotationPeriodSeconds },
        },
        manager,
      );
    });
    return this.view(tenantId, input.keyringId);
  }

  async view(tenantId: string, keyringId: string): Promise<KeyringView> {
    const view = await this.keyrings.view(tenantId, keyringId);
    if (!view) throw new KeyringNotFoundError('no such keyring');
    return view;
  }

  list(tenantId: string): Promise<KeyringView[]> {
    return this.keyrings.list(tenantId);
  }

  async rotate(tenantId: string, keyringId: string, actor: Actor, reason: RotationReason = 'manual'): Promise<KeyringView> {
    await this.runtime.dataSource.transaction(async (manager) => {
      const keyring = await this.keyrings.lockKeyring(manager, tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError('no such keyring');
      await this.rotateLocked(manager, keyring, actor, reason);
    });
    return this.view(tenantId, keyringId);
  }

  /** Rotates a keyring already locked by the caller's transaction. */
  async rotateLocked(manager: EntityManager, keyring: Keyring, actor: Actor, reason: RotationReason): Promise<number> {
    if (keyring.purpose === 'subject')
      throw new KeyringPurposeMismatchError('subject keyrings do not rotate; each subject has its own key');
    const { tenantId, keyringId } = keyring;
    const version = (await this.keyrings.latestVersion(manager, tenantId, keyringId)) + 1;
    const wrapped = this.dataKeys.create({ tenantId, keyringId, version }, keyring);
    await this.keyrings.deactivateActiveVersion(manager, tenantId, keyringId);
    await this.keyrings.insertActiveVersion(manager, { tenantId, keyringId, version }, wrapped, reason);
    await this.events.record(
      {
        tenantId,
        actor,
        action: 'crypto.key-rotated',
        keyringId,
        purpose: keyring.purpose,
        keyVersions: [version],
        fields: 0,
        reason,
        details: { previousVersion: version - 1, wrapping: wrapped.wrapping, kekId: wrapped.kekId },
      },
      manager,
    );
    return version;
  }

  /**
   * Changes the keyring's policy. A wrapping change rewraps every stored data key (and, for subject
   * keyrings, every subject key) in the same transaction; ciphertexts are untouched because the data
   * keys themselves do not change.
   */
  async update(tenantId: string, keyringId: string, change: PolicyChange, actor: Actor): Promise<KeyringView> {
    await this.runtime.dataSource.transaction(async (manager) => {
      const keyring = await this.keyrings.lockKeyring(manager, tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError('no such keyring');
      const next: Keyring = { ...keyring };
      if (change.rotationPeriodSeconds !== undefined) {
        if (keyring.purpose === 'subject' && change.rotationPeriodSeconds !== null) {
          throw new InvalidKeyPolicyError('subject keyrings do not rotate');
        }
        next.rotationPeriodSeconds = change.rotationPeriodSeconds;
      }
      if (change.maxEncryptionsPerVersion !== undefined) next.maxEncryptionsPerVersion = change.maxEncryptionsPerVersion;
      if (change.minDecryptionVersion !== undefined) {
        const latest = await this.keyrings.latestVersion(manager, tenantId, keyringId);
        if (change.minDecryptionVersion > latest) {
          throw new InvalidKeyPolicyError(`minDecryptionVersion cannot exceed the newest version (${latest})`);
        }
        if (change.minDecryptionVersion < keyring.minDecryptionVersion) {
          throw new InvalidKeyPolicyError('minDecryptionVersion can only be raised');
        }
        next.minDecryptionVersion = change.minDecryptionVersion;
      }
      let rewrapped = 0;
      if (change.wrapping !== undefined && change.wrapping !== keyring.wrapping) {
        next.wrapping = change.wrapping;
        if (change.wrapping === 'hybrid-pq' && !keyring.pqPublicKey) Object.assign(next, this.dataKeys.newKeyPair(tenantId, keyringId));
        rewrapped = await this.rewrapStoredKeys(manager, keyring, next);
      }
      await this.keyrings.updatePolicy(manager, next);
      await this.events.record(
        {
          tenantId,
          actor,
          action: 'crypto.keyring-updated',
          keyringId,
          purpose: keyring.purpose,
          keyVersions: [],
          fields: rewrapped,
          details: {
            changed: Object.keys(change),
            ...(change.wrapping === undefined
              ? {}
              : { wrappingFrom: keyring.wrapping, wrappingTo: next.wrapping, rewrappedKeys: rewrapped }),
            minDecryptionVersion: next.minDecryptionVersion,
          },
        },
        manager,
      );
    });
    return this.view(tenantId, keyringId);
  }

  /** Retires a decrypt-only version: it no longer decrypts. Refused while ciphertexts may still depend on it, unless forced. */
  async retire(tenantId: string, keyringId: string, version: number, force: boolean, actor: Actor): Promise<KeyringView> {
    await this.runtime.dataSource.transaction(async (manager) => {
      const keyring = await this.keyrings.lockKeyring(manager, tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError('no such keyring');
      const stats = await this.keyrings.versionStats(manager, tenantId, keyringId, version);
      if (!stats) throw new KeyVersionNotFoundError(`version ${version} does not exist`);
      if (stats.state !== 'decrypt-only') {
        throw new KeyVersionStateError(`only a decrypt-only version can be retired; version ${version} is ${stats.state}`);
      }
      if (stats.outstanding > 0 && !force) {
        throw new KeyVersionInUseError(
          `${stats.outstanding} ciphertexts sealed under version ${version} have not been rewrapped; rewrap them first`,
          { issues: [`outstanding: ${stats.outstanding}`, `lastUsedAt: ${stats.lastUsedAt ?? 'never'}`] },
        );
      }
      await this.keyrings.setVersionState(manager, tenantId, keyringId, version, 'retired');
      await this.events.record(
        {
          tenantId,
          actor,
          action: 'crypto.key-retired',
          keyringId,
          purpose: keyring.purpose,
          keyVersions: [version],
          fields: 0,
          details: { outstanding: stats.outstanding, forced: force && stats.outstanding > 0 },
        },
        manager,
      );
    });
    return this.view(tenantId, keyringId);
  }

  /** Erases a retired version's wrapped key: irreversible; ciphertexts under it can never be opened again. */
  async destroy(tenantId: string, keyringId: string, version: number, actor: Actor): Promise<KeyringView> {
    await this.runtime.dataSource.transaction(async (manager) => {
      const keyring = await this.keyrings.lockKeyring(manager, tenantId, keyringId);
      if (!keyring) throw new KeyringNotFoundError('no such keyring');
      const stats = await this.keyrings.versionStats(manager, tenantId, keyringId, version);
      if (!stats) throw new KeyVersionNotFoundError(`version ${version} does not exist`);
      if (stats.state !== 'retired') {
        throw new KeyVersionStateError(`only a retired version can be destroyed; version ${version} is ${stats.state}`);
      }
      await this.keyrings.setVersionState(manager, tenantId, keyringId, version, 'destroyed');
      await this.events.record(
        { tenantId, actor, action: 'crypto.key-destroyed', keyringId, purpose: keyring.purpose, keyVersions: [version], fields: 0 },
        manager,
      );
    });
    this.dataKeys.clear();
    return this.view(tenantId, keyringId);
  }

  private async rewrapStoredKeys(manager: EntityManager, from: Keyring, to: Keyring): Promise<number> {
    const { tenantId, keyringId } = from;
    let count = 0;
    if (from.purpose === 'subject') {
      const rows = await manager.query<{ subject_id: string; wrapped_key: Buffer; kek_id: string; wrapping: Wrapping }[]>(
        `SELECT subject_id, wrapped_key, kek_id, wrapping FROM subject_keys
          WHERE tenant_id = $1 AND keyring_id = $2 AND state = 'active' FOR UPDATE`,
        [tenantId, keyringId],
      );
      for (const row of rows) {
        const ref = { tenantId, keyringId, subjectId: row.subject_id };
        const next = this.rewrapOne(ref, { wrappedKey: row.wrapped_key, kekId: row.kek_id, wrapping: row.wrapping }, from, to);
        await manager.query(
          `UPDATE subject_keys SET wrapped_key = $4, kek_id = $5, wrapping = $6 WHERE tenant_id = $1 AND keyring_id = $2 AND subject_id = $3`,
          [tenantId, keyringId, row.subject_id, next.wrappedKey, next.kekId, next.wrapping],
        );
        count += 1;
      }
      return count;
    }
    for (const version of await this.keyrings.versions(manager, tenantId, keyringId)) {
      if (!version.wrappedKey) continue;
      const ref = { tenantId, keyringId, version: version.version };
      const next = this.rewrapOne(ref, { wrappedKey: version.wrappedKey, kekId: version.kekId, wrapping: version.wrapping }, from, to);
      await this.keyrings.replaceWrappedKey(manager, tenantId, keyringId, version.version, next);
      count += 1;
    }
    return count;
  }

  private rewrapOne(ref: Parameters<DataKeys['unwrap']>[0], current: WrappedDataKey, from: Keyring, to: Keyring): WrappedDataKey {
    // unwrap() returns the cache's buffer: copy before wrapping, and never zero the cached one.
    const material = Buffer.from(this.dataKeys.unwrap(ref, current, from));
    try {
      return this.dataKeys.wrap(material, ref, to);
    } finally {
      material.fill(0);
    }
  }
}
