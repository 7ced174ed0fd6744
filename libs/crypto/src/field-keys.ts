import { createSecretKey, type KeyObject } from 'node:crypto';

import { assertBytes, equalBytes, lengthPrefixed, nameBytes } from './encoding';
import { hkdfSha256 } from './hkdf';

/** Format 2 labels: the GCM key's info is its label followed by the length-prefixed tenant, keyring and field. */
const COLUMN_KEY_INFO = Buffer.from('traceo/aead/v2 key', 'utf8');
const COMMITMENT_INFO = 'traceo/aead/v2 commitment';
/** Derived column keys kept in all; past it the least recently used data key's are dropped. */
export const FIELD_KEY_CACHE_MAX_ENTRIES = 4096;

/** The GCM key of one (data key, tenant, keyring, field), the data key's commitment, and the context's encoded prefix. */
export interface FieldKeys {
  encryptionKey: KeyObject;
  /** Depends on the data key alone, so a wrong key and a wrong context stay distinguishable. */
  commitment: Buffer;
  /** Length-prefixed tenant, keyring and field: the start of `encodeContext`'s output. */
  contextPrefix: Buffer;
}

export interface ColumnContext {
  tenant: string;
  keyring: string;
  field: string;
}

type Columns = Map<string, Map<string, Map<string, FieldKeys>>>;

interface DataKeyRef {
  id: number;
  /** A copy of the key bytes the entries were derived from, so a caller that reuses or zeroes its Buffer never gets stale keys. */
  check: Buffer;
  commitment: Buffer;
  columns: Columns;
  size: number;
  dropped: boolean;
}

// Data keys are recognised by their Buffer (callers such as encryption-service's DataKeys hand the
// same Buffer to every field of a key), then confirmed by a constant-time compare of the bytes. The
// cache is looked up by that Buffer and the column names; no key bytes are ever part of a lookup key.
const refs = new WeakMap<Uint8Array, DataKeyRef>();
/** Live refs, least recently used first. */
const recency = new Map<number, DataKeyRef>();
let entryCount = 0;
let nextRefId = 0;
let lastRefId = -1;

/**
 * Format 2 keys, not cached: the GCM key HKDF-SHA256(data key, no salt, "traceo/aead/v2 key" ‖
 * length-prefixed tenant, keyring, field) and the commitment HKDF-SHA256(data key, no salt,
 * "traceo/aead/v2 commitment"), 32 bytes each.
 */
export function deriveFieldKeys(material: Uint8Array, column: ColumnContext): FieldKeys {
  assertBytes(material, 'data key', { exactly: 32 });
  return deriveColumnKey(material, column, deriveCommitment(material));
}

/** `deriveFieldKeys`, answered from a bounded cache for a data key Buffer already seen with these bytes. */
export function fieldKeys(material: Uint8Array, column: ColumnContext): FieldKeys {
  const { tenant, keyring, field } = column;
  // Anything but strings takes the uncached path, whose validation refuses it.
  if (typeof tenant !== 'string' || typeof keyring !== 'string' || typeof field !== 'string') return deriveFieldKeys(material, column);
  const ref = refFor(material);
  const cached = ref.columns.get(tenant)?.get(keyring)?.get(field);
  if (cached !== undefined) return cached;
  // Derived (and so validated) before anything is stored.
  const keys = deriveColumnKey(material, column, ref.commitment);
  let byKeyring = ref.columns.get(tenant);
  if (byKeyring === undefined) ref.columns.set(tenant, (byKeyring = new Map<string, Map<string, FieldKeys>>()));
  let byField = byKeyring.get(keyring);
  if (byField === undefined) byKeyring.set(keyring, (byField = new Map<string, FieldKeys>()));
  byField.set(field, keys);
  ref.size += 1;
  entryCount += 1;
  evictOverflow(ref);
  return keys;
}

/**
 * Drops everything derived from this data key Buffer (for instance when the key is evicted, destroyed
 * or shredded); later calls derive again. Call it before zeroing the Buffer.
 */
export function forgetDataKey(material: Uint8Array): void {
  const ref = refs.get(material);
  if (ref === undefined) return;
  refs.delete(material);
  drop(ref);
}

function refFor(material: Uint8Array): DataKeyRef {
  const known = refs.get(material);
  if (known !== undefined && !known.dropped && equalBytes(known.check, material)) {
    if (known.id !== lastRefId) {
      recency.delete(known.id);
      recency.set(known.id, known);
      lastRefId = known.id;
    }
    return known;
  }
  if (known !== undefined) forgetDataKey(material);
  assertBytes(material, 'data key', { exactly: 32 });
  const ref: DataKeyRef = {
    id: nextRefId++,
    check: Buffer.from(material),
    commitment: deriveCommitment(material),
    columns: new Map(),
    size: 0,
    dropped: false,
  };
  refs.set(material, ref);
  recency.set(ref.id, ref);
  lastRefId = ref.id;
  return ref;
}

function evictOverflow(current: DataKeyRef): void {
  for (const ref of recency.values()) {
    if (entryCount <= FIELD_KEY_CACHE_MAX_ENTRIES) return;
    // The data key in use keeps its columns unless it alone passes the bound.
    if (ref === current) continue;
    drop(ref);
  }
  if (entryCount > FIELD_KEY_CACHE_MAX_ENTRIES) {
    entryCount -= current.size;
    current.columns.clear();
    current.size = 0;
  }
}

function drop(ref: DataKeyRef): void {
  ref.dropped = true;
  recency.delete(ref.id);
  entryCount -= ref.size;
  ref.columns.clear();
  ref.size = 0;
  ref.check.fill(0);
}

function deriveCommitment(material: Uint8Array): Buffer {
  return hkdfSha256(material, Buffer.alloc(0), COMMITMENT_INFO, 32);
}

function deriveColumnKey(material: Uint8Array, column: ColumnContext, commitment: Buffer): FieldKeys {
  const contextPrefix = lengthPrefixed([
    nameBytes(column.tenant, 'context tenant'),
    nameBytes(column.keyring, 'context keyring'),
    nameBytes(column.field, 'context field'),
  ]);
  const key = hkdfSha256(material, Buffer.alloc(0), Buffer.concat([COLUMN_KEY_INFO, contextPrefix]), 32);
  try {
    return { encryptionKey: createSecretKey(key), commitment, contextPrefix };
  } finally {
    key.fill(0);
  }
}
