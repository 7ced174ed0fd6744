import { Injectable } from '@nestjs/common';
import type { BlindIndexKind } from '@traceo/crypto';
import { KeyEvents } from './key-events';
import type { Actor, Keyring, KeyVersion } from './keyring';
import { BatchFailedError, FIELD_FAILURE_STATUS, FieldFailure, KeyringNotFoundError, KeyringPurposeMismatchError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';
import type { FieldResult } from './field-crypto.usecase';
import { parseRangeValue, rangeTokenBounds, SearchTokens, type RangeType } from './search-tokens';

export interface TokenItem {
  field: string;
  value: string;
  /** blind-index keyrings: normalisation (default generic). */
  kind?: BlindIndexKind;
  /** range keyrings: how to read the value. */
  type?: RangeType;
}

export type TokenQuery =
  | { field: string; equals: string; kind?: BlindIndexKind }
  | { field: string; type: RangeType; gte?: string; gt?: string; lte?: string; lt?: string };

/** What to put in a WHERE clause: `token IN (equalityTokens)` or `(token BETWEEN gte AND lte) OR …` per index version. */
export interface QueryTokens {
  keyringId: string;
  equalityTokens?: string[];
  ranges?: { version: number; gte: string; lte: string }[];
  /** True when the range is empty (e.g. gt the largest value): match nothing. */
  empty?: boolean;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Tokens from blind-index and range keyrings: for values being stored (under the active version) and
 * for searches (under every version whose key still exists, so rows indexed before a rotation are
 * still found until the index is rebuilt with rewrap).
 */
@Injectable()
export class TokenQueries {
  constructor(
    private readonly keyrings: KeyringRepository,
    private readonly tokens: SearchTokens,
    private readonly events: KeyEvents,
  ) {}

  async tokensFor(
    tenantId: string,
    keyringId: string,
    items: readonly TokenItem[],
    actor: Actor,
  ): Promise<FieldResult<{ token: string; keyVersion: number }>[]> {
    const keyring = await this.indexKeyring(tenantId, keyringId);
    const active = (await this.keyrings.searchableVersions(tenantId, keyringId)).find((v) => v.state === 'active');
    if (!active) throw new KeyringPurposeMismatchError('the keyring has no active version');
    const results = items.map((item): FieldResult<{ token: string; keyVersion: number }> => {
      try {
        return { ok: true, token: this.token(keyring, active, item.field, item.value, item.kind, item.type), keyVersion: active.version };
      } catch (error) {
        if (!(error instanceof FieldFailure)) throw error;
        return { ok: false, error: { code: error.code, status: FIELD_FAILURE_STATUS[error.code], detail: error.message } };
      }
    });
    const failures = new Map<string, number>();
    for (const r of results) if (!r.ok) failures.set(r.error.code, (failures.get(r.error.code) ?? 0) + 1);
    await this.events.record({
      tenantId,
      actor,
      action: 'crypto.tokens',
      keyringId,
      purpose: keyring.purpose,
      keyVersions: [active.version],
      fields: items.length,
      failures,
    });
    const failed = results.flatMap((r, index) => (r.ok ? [] : [{ index, code: r.error.code, message: r.error.detail }]));
    if (failed.length === results.length) throw new BatchFailedError(failed);
    return results;
  }

  async query(tenantId: string, keyringId: string, query: TokenQuery, actor: Actor): Promise<QueryTokens> {
    const keyring = await this.indexKeyring(tenantId, keyringId);
    const versions = await this.keyrings.searchableVersions(tenantId, keyringId);
    let answer: QueryTokens;
    try {
      answer = 'equals' in query ? this.equalityQuery(keyring, versions, query) : this.rangeQuery(keyring, versions, query);
    } catch (error) {
      if (error instanceof FieldFailure) throw new BatchFailedError([{ index: 0, code: error.code, message: error.message }]);
      throw error;
    }
    await this.events.record({
      tenantId,
      actor,
      action: 'crypto.query-tokens',
      keyringId,
      purpose: keyring.purpose,
      keyVersions: versions.map((v) => v.version),
      fields: 1,
    });
    return answer;
  }

  private equalityQuery(
    keyring: Keyring,
    versions: KeyVersion[],
    query: { field: string; equals: string; kind?: BlindIndexKind },
  ): QueryTokens {
    if (keyring.purpose !== 'blind-index') throw new KeyringPurposeMismatchError('equality queries need a blind-index keyring');
    return {
      keyringId: keyring.keyringId,
      equalityTokens: versions.map((v) => this.tokens.equality(keyring, v, query.field, query.kind ?? 'generic', query.equals)),
    };
  }

  private rangeQuery(keyring: Keyring, versions: KeyVersion[], query: Exclude<TokenQuery, { equals: string }>): QueryTokens {
    if (keyring.purpose !== 'range') throw new KeyringPurposeMismatchError('range queries need a range keyring');
    if (query.gte !== undefined && query.gt !== undefined) throw new FieldFailure('CRYPTO.BAD_INPUT', 'give gte or gt, not both');
    if (query.lte !== undefined && query.lt !== undefined) throw new FieldFailure('CRYPTO.BAD_INPUT', 'give lte or lt, not both');
    const lowerRaw = query.gte ?? query.gt;
    const upperRaw = query.lte ?? query.lt;
    let lower = lowerRaw === undefined ? undefined : parseRangeValue(query.type, lowerRaw) + (query.gt !== undefined ? 1n : 0n);
    let upper = upperRaw === undefined ? undefined : parseRangeValue(query.type, upperRaw) - (query.lt !== undefined ? 1n : 0n);
    if (lower !== undefined && lower > INT64_MAX) return { keyringId: keyring.keyringId, ranges: [], empty: true };
    if (upper !== undefined && upper < INT64_MIN) return { keyringId: keyring.keyringId, ranges: [], empty: true };
    if (lower !== undefined && upper !== undefined && lower > upper) return { keyringId: keyring.keyringId, ranges: [], empty: true };
    if (query.type === 'timestamp') {
      // Dates are limited to ±8.64e15 ms; an open end is the version's lowest or highest token anyway.
      if (lower !== undefined && lower < -8_640_000_000_000_000n) lower = undefined;
      if (upper !== undefined && upper > 8_640_000_000_000_000n) upper = undefined;
    }
    return {
      keyringId: keyring.keyringId,
      ranges: versions.map((v) => {
        const bounds = rangeTokenBounds(v.version);
        return {
          version: v.version,
          gte: lower === undefined ? bounds.min : this.tokens.range(keyring, v, query.field, query.type, lower),
          lte: upper === undefined ? bounds.max : this.tokens.range(keyring, v, query.field, query.type, upper),
        };
      }),
    };
  }

  private token(keyring: Keyring, version: KeyVersion, field: string, value: string, kind?: BlindIndexKind, type?: RangeType): string {
    if (keyring.purpose === 'blind-index') return this.tokens.equality(keyring, version, field, kind ?? 'generic', value);
    if (!type) throw new FieldFailure('CRYPTO.BAD_INPUT', 'a range token needs the value type (integer or timestamp)');
    return this.tokens.range(keyring, version, field, type, parseRangeValue(type, value));
  }

  private async indexKeyring(tenantId: string, keyringId: string): Promise<Keyring> {
    const keyring = await this.keyrings.findKeyring(tenantId, keyringId);
    if (!keyring) throw new KeyringNotFoundError('no such keyring');
    if (keyring.purpose !== 'blind-index' && keyring.purpose !== 'range') {
      throw new KeyringPurposeMismatchError(`a ${keyring.purpose} keyring does not make search tokens`);
    }
    return keyring;
  }
}
