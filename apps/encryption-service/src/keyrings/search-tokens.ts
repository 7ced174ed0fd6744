import { Injectable } from '@nestjs/common';
import { BlindIndexer, CryptoError, RangeTokenizer, type BlindIndexKind } from '@traceo/crypto';
import { DataKeys } from './data-keys';
import type { Keyring, KeyVersion } from './keyring';
import { FieldFailure } from './keyring.errors';

export type RangeType = 'integer' | 'timestamp';

const INT64 = /^-?(0|[1-9][0-9]{0,18})$/;
const RANGE_TOKEN_MIN = '0'.repeat(24);
const RANGE_TOKEN_MAX = 'f'.repeat(24);
const TOKENIZER_CACHE_MAX = 2048;

/** A range token: `v<version>:` and 24 hex digits, so tokens of one version compare like their values under `COLLATE "C"`. */
export function rangeTokenPrefix(version: number): string {
  return `v${version}:`;
}

/** Lowest and highest possible token of a version, for open-ended ranges. */
export function rangeTokenBounds(version: number): { min: string; max: string } {
  return { min: `${rangeTokenPrefix(version)}${RANGE_TOKEN_MIN}`, max: `${rangeTokenPrefix(version)}${RANGE_TOKEN_MAX}` };
}

/** The value a range token orders by: a signed 64-bit integer, or a timestamp in epoch milliseconds. */
export function parseRangeValue(type: RangeType, value: string): bigint {
  if (type === 'integer') {
    if (!INT64.test(value)) throw new FieldFailure('CRYPTO.BAD_INPUT', 'an integer range value must be a decimal integer');
    const parsed = BigInt(value);
    if (parsed < -(2n ** 63n) || parsed >= 2n ** 63n)
      throw new FieldFailure('CRYPTO.BAD_INPUT', 'an integer range value must fit in 64 bits');
    return parsed;
  }
  // RFC 3339 with an explicit offset; Date.parse alone accepts too much.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new FieldFailure('CRYPTO.BAD_INPUT', 'a timestamp range value must be RFC 3339 with an offset');
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new FieldFailure('CRYPTO.BAD_INPUT', 'a timestamp range value must be a valid date');
  return BigInt(ms);
}

/**
 * Equality (blind index) and range tokens under a blind-index or range keyring's key versions.
 * Per-field keys are derived (HKDF) from the version's key inside libs/crypto; the derived tokenizers
 * are kept in a bounded map so a batch does not re-derive them per value.
 */
@Injectable()
export class SearchTokens {
  private readonly blindIndexers = new Map<string, BlindIndexer>();
  private readonly rangeTokenizers = new Map<string, RangeTokenizer>();

  constructor(private readonly dataKeys: DataKeys) {}

  equality(keyring: Keyring, version: KeyVersion, field: string, kind: BlindIndexKind, value: string): string {
    const indexer = this.remember(this.blindIndexers, `${this.slot(keyring, version)}|${field}|${kind}`, () =>
      this.withKey(
        keyring,
        version,
        (key) =>
          new BlindIndexer(key, {
            tenant: keyring.tenantId,
            keyring: keyring.keyringId,
            field,
            version: version.version,
            kind,
            tokenBytes: keyring.blindIndexTokenBytes,
          }),
      ),
    );
    return guard(() => indexer.token(value));
  }

  range(keyring: Keyring, version: KeyVersion, field: string, type: RangeType, value: bigint): string {
    const tokenizer = this.remember(this.rangeTokenizers, `${this.slot(keyring, version)}|${field}`, () =>
      this.withKey(
        keyring,
        version,
        (key) => new RangeTokenizer(key, { tenant: keyring.tenantId, keyring: keyring.keyringId, field, version: version.version }),
      ),
    );
    const hex = guard(() => (type === 'integer' ? tokenizer.int64(value) : tokenizer.timestamp(new Date(Number(value)))));
    return `${rangeTokenPrefix(version.version)}${hex}`;
  }

  private slot(keyring: Keyring, version: KeyVersion): string {
    return `${keyring.tenantId}|${keyring.keyringId}|${version.version}|${version.wrappedKey?.subarray(-16).toString('hex') ?? 'none'}`;
  }

  private withKey<T>(keyring: Keyring, version: KeyVersion, use: (key: Buffer) => T): T {
    if (!version.wrappedKey) throw new FieldFailure('CRYPTO.KEY_DESTROYED', `index key version ${version.version} was destroyed`);
    const key = this.dataKeys.unwrap(
      { tenantId: keyring.tenantId, keyringId: keyring.keyringId, version: version.version },
      { wrappedKey: version.wrappedKey, kekId: version.kekId, wrapping: version.wrapping },
      keyring,
    );
    return use(key);
  }

  private remember<T>(cache: Map<string, T>, key: string, create: () => T): T {
    const found = cache.get(key);
    if (found) return found;
    const created = create();
    if (cache.size >= TOKENIZER_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, created);
    return created;
  }

  clear(): void {
    this.blindIndexers.clear();
    this.rangeTokenizers.clear();
  }
}

function guard<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof CryptoError) throw new FieldFailure('CRYPTO.BAD_INPUT', error.message);
    throw error;
  }
}
