import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { deriveScopedKey, type IndexKeyScope } from './key-scope';

const DOMAIN_BITS = 64;
/** Extra output bits: the range is 2^32 times larger than the domain, which leaves room for keyed gaps. */
const EXPANSION_BITS = 32;
const RANGE_BITS = DOMAIN_BITS + EXPANSION_BITS;
/** The keyed map fills [0, 2^95); a keyed offset in [0, 2^95) places it inside the 96-bit token space. */
const MAP_BITS = RANGE_BITS - 1;
const INT64_OFFSET = 1n << 63n;
const INT64_MIN = -INT64_OFFSET;
const INT64_MAX = INT64_OFFSET - 1n;

/** Every token is this many lowercase hex digits (96 bits, big-endian). */
export const RANGE_TOKEN_HEX_LENGTH = RANGE_BITS / 4;

/**
 * Order-preserving tokens for int64 values and timestamps, for range queries on encrypted columns.
 * A token is 24 lowercase hex digits, so tokens sort as their values do under byte-wise comparison:
 * store them as `text COLLATE "C"` or `decode(token, 'hex')` in a `bytea` column and use a btree.
 *
 * Construction: a keyed, strictly increasing map from the 2^64 domain to a 2^95 range, shifted by a
 * keyed offset in [0, 2^95) into the 96-bit token space. Walking a
 * binary tree over the domain, each node splits its range between its two halves; the left half
 * gets its domain size plus an HMAC-chosen share of the node's slack (range size − domain size), the
 * right half the rest. A value's token is the start of its leaf's range: 64 HMAC-SHA256 calls, and
 * every value has a range of at least one, so distinct values always get strictly ordered tokens.
 * int64 and timestamp tokens use separate keys derived for the tenant, keyring, field and version.
 *
 * WHAT IT LEAKS, to anyone who can read the tokens (database readers, backups, logs):
 * - Equality: the map is deterministic, so equal values have equal tokens, and frequencies show.
 * - Order: the complete order of all tokenized values in a column. That is the purpose.
 * - Approximate value and distance: the map is linear on average (token ≈ (value + 2^63) · 2^32),
 *   with heavy keyed noise, because each share is uniform and a range is a product of up to 64 such
 *   factors. Measured on random int64s: the linear estimate from a lone token is off by about 2^60
 *   (median), so it gives away only the value's first few bits; for two values 2^k apart, log2 of the
 *   token gap spreads over ~20 bits when k ≤ 32 and narrows to a few bits when k ≥ 48, so large
 *   distances leak to within a small factor and small ones only coarsely. Anyone who knows some
 *   (value, token) pairs brackets every other value between its known neighbours; that is inherent
 *   to order and is the real limit.
 * - Sorting attacks: when a column's values are dense in a known set (ages, dates of birth, small
 *   enumerations), the rank of a token among the others identifies its value exactly.
 * - Small gaps at special points: the slack shrinks along every path, so on long runs of left (or
 *   right) turns — values just above −2^63, just above 0, just below 2^63 − 1, and so small
 *   non-negative integers such as ages or counts — neighbouring tokens lie much closer together than
 *   average (ages 0..12 measured within ~10^5 of each other, against an average gap of 2^31). Their
 *   *differences* therefore reveal the values' differences almost exactly once one of them is known.
 *   The keyed offset keeps their absolute values key-dependent (without it, −2^63 always mapped to
 *   token 0 and its neighbours nearly so, under every key and version).
 * It does not reveal the key, and tokens from different scopes or versions differ by independent
 * keyed offsets. Use it only
 * where the threat model accepts all of the above; otherwise query by blind index or decrypt.
 */
export class RangeTokenizer {
  private readonly int64Key: KeyObject;
  private readonly timestampKey: KeyObject;

  constructor(indexKey: Uint8Array, scope: IndexKeyScope) {
    this.int64Key = scopedKey(indexKey, scope, 'int64');
    this.timestampKey = scopedKey(indexKey, scope, 'timestamp-ms');
  }

  /** Token of an integer in [-2^63, 2^63); a `number` must be a safe integer. */
  int64(value: bigint | number): string {
    return tokenFor(this.int64Key, toInt64(value));
  }

  /** Token of a date at millisecond precision. */
  timestamp(value: Date): string {
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new CryptoError('CRYPTO.BAD_INPUT', 'timestamp must be a valid Date');
    return tokenFor(this.timestampKey, BigInt(value.getTime()));
  }
}

function scopedKey(indexKey: Uint8Array, scope: IndexKeyScope, domain: string): KeyObject {
  const key = deriveScopedKey(indexKey, 'traceo/range-token/v1', scope, domain);
  const keyObject = createSecretKey(key);
  key.fill(0);
  return keyObject;
}

function toInt64(value: bigint | number): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CryptoError('CRYPTO.BAD_INPUT', 'range token value must be a safe integer or a bigint');
    return BigInt(value);
  }
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
    throw new CryptoError('CRYPTO.BAD_INPUT', 'range token value must be an integer in [-2^63, 2^63)');
  }
  return value;
}

function tokenFor(key: KeyObject, value: bigint): string {
  return (encode(key, value + INT64_OFFSET) + keyedOffset(key)).toString(16).padStart(RANGE_TOKEN_HEX_LENGTH, '0');
}

/** The strictly increasing keyed map of an unsigned 64-bit value into [0, 2^96). */
function encode(key: KeyObject, value: bigint): bigint {
  const nodeId = Buffer.alloc(1 + 8);
  let start = 0n;
  let size = 1n << BigInt(MAP_BITS);
  for (let depth = 0; depth < DOMAIN_BITS; depth++) {
    const childBits = BigInt(DOMAIN_BITS - depth - 1);
    const childDomain = 1n << childBits;
    const slack = size - 2n * childDomain;
    // The node is (depth, the value's leading `depth` bits); its split depends on nothing else.
    nodeId[0] = depth;
    nodeId.writeBigUInt64BE(value >> (childBits + 1n), 1);
    const left = childDomain + (uniform(key, nodeId) % (slack + 1n));
    if (((value >> childBits) & 1n) === 0n) {
      size = left;
    } else {
      start += left;
      size -= left;
    }
  }
  return start;
}

/**
 * A keyed shift of every token of one scope. Without it the domain's ends map to key-independent
 * tokens (the minimum is always the range's first point, and values just above it get tokens barely
 * above that), so tokens near the ends would match across keys and versions.
 */
function keyedOffset(key: KeyObject): bigint {
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const offset = uniform(key, Buffer.from('traceo/range-token/v1 offset', 'utf8')) % (1n << BigInt(MAP_BITS));
  offsets.set(key, offset);
  return offset;
}

const offsets = new WeakMap<KeyObject, bigint>();

/** 256 keyed pseudo-random bits; reduced modulo a slack below 2^96, the bias is under 2^-160. */
function uniform(key: KeyObject, nodeId: Buffer): bigint {
  return BigInt(`0x${createHmac('sha256', key).update(nodeId).digest('hex')}`);
}
