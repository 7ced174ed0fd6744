import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { ipBucket, resolveClientIp, type TrustedProxies } from './client-ip';
import type { IdentifierSpec, IdentifierType, SimpleIdentifierSpec } from './rate-limit.config';
import { headerValue, type RateLimitRequest } from './rate-limit.request';
import { RecentCache } from './recent-cache';

export const MIN_IDENTIFIER_KEY_BYTES = 16;

/** What a request was actually limited by. */
export type IdentifierSource = 'consumer' | 'credential' | 'ip' | 'header' | 'path' | 'route' | 'anonymous';

/**
 * Where each identifier falls back when the request lacks it. Nothing falls back to one bucket shared
 * by everybody: a request without a consumer is limited per credential, then per client IP; a request
 * without even an address (Unix socket, no trusted forwarding) per `anonymous` fingerprint of its
 * User-Agent, Accept, Accept-Language and Accept-Encoding headers.
 */
export const IDENTIFIER_FALLBACKS: Readonly<Record<SimpleIdentifierSpec['type'], readonly IdentifierSource[]>> = {
  consumer: ['consumer', 'credential', 'ip', 'anonymous'],
  credential: ['credential', 'consumer', 'ip', 'anonymous'],
  ip: ['ip', 'anonymous'],
  header: ['header', 'ip', 'anonymous'],
  route: ['route', 'path'],
  path: ['path'],
};

export interface ResolvedIdentifier {
  /** The identifier type the rule asked for. */
  readonly type: IdentifierType;
  /** What was used: `consumer`, `ip`, `anonymous`, or `compound(consumer+route)`. */
  readonly source: string;
  /** True when any part fell back from what the rule asked for. */
  readonly fallback: boolean;
  /** Raw value (`ip=203.0.113.9`); never leaves the limiter unhashed. */
  readonly value: string;
}

export interface IdentifierContext {
  readonly trustedProxies: TrustedProxies;
  readonly ipv6Subnet: number;
}

/** Per-request facts computed at most once (several rules and compound parts share them). */
export class RequestFacts {
  private ip: string | null | undefined;

  constructor(
    readonly request: RateLimitRequest,
    private readonly context: IdentifierContext,
  ) {}

  /** The client IP (after proxy trust), bucketed per IPv6 network; undefined when unknown. */
  clientIp(): string | undefined {
    if (this.ip === undefined) {
      const ip = resolveClientIp(this.request.remoteAddress, this.request.headers['x-forwarded-for'], this.context.trustedProxies);
      this.ip = ip === undefined ? null : ipBucket(ip, this.context.ipv6Subnet);
    }
    return this.ip ?? undefined;
  }
}

export function resolveIdentifier(spec: IdentifierSpec, facts: RequestFacts): ResolvedIdentifier {
  if (spec.type !== 'compound') return resolveSimple(spec, facts);
  const parts = spec.parts.map((part) => resolveSimple(part, facts));
  return {
    type: 'compound',
    source: `compound(${parts.map((part) => part.source).join('+')})`,
    fallback: parts.some((part) => part.fallback),
    value: parts.map((part) => part.value).join('\u0000'),
  };
}

/** What a decision reports about its identifier. */
export interface DecisionIdentifier {
  readonly type: IdentifierType;
  readonly source: string;
  readonly fallback: boolean;
  /** HMAC of the identifier value; the raw value never leaves the limiter. */
  readonly hash: string;
}

/** One caller under one rule: the identifier a decision reports and the store key, both built once. */
export interface Identity {
  readonly identifier: DecisionIdentifier;
  /** `<rule>:<algorithm>:<hash>`. */
  readonly key: string;
}

/**
 * Resolves a rule's identifier for a request to the caller's Identity. Callers come back, so the
 * identities of recent ones are kept (bounded) per fallback source and raw value: a returning caller
 * costs a map lookup, not a string concatenation, an HMAC and a key built anew.
 */
export class RuleIdentities {
  /** One cache per position in the fallback chain (a simple identifier), or one for compound values. */
  private readonly caches: RecentCache<Identity>[];

  constructor(
    private readonly spec: IdentifierSpec,
    private readonly keyPrefix: string,
    private readonly hasher: IdentifierHasher,
    maxKeys: number,
  ) {
    const chains = spec.type === 'compound' ? 1 : IDENTIFIER_FALLBACKS[spec.type].length;
    this.caches = Array.from({ length: chains }, () => new RecentCache<Identity>(maxKeys));
  }

  identify(facts: RequestFacts): Identity {
    const { spec } = this;
    if (spec.type === 'compound') {
      const resolved = resolveIdentifier(spec, facts);
      return this.caches[0]!.get(resolved.value) ?? this.remember(0, resolved.value, resolved);
    }
    const chain = IDENTIFIER_FALLBACKS[spec.type];
    for (let i = 0; i < chain.length; i += 1) {
      const source = chain[i]!;
      const raw = read(source, spec, facts);
      if (raw !== undefined) {
        return this.caches[i]!.get(raw) ?? this.remember(i, raw, { type: spec.type, source, fallback: i > 0, value: `${source}=${raw}` });
      }
    }
    // Unreachable: `anonymous` and `path` always yield a value.
    return this.identity(resolveSimple(spec, facts));
  }

  private remember(cache: number, raw: string, resolved: ResolvedIdentifier): Identity {
    const identity = this.identity(resolved);
    this.caches[cache]!.set(raw, identity);
    return identity;
  }

  private identity({ type, source, fallback, value }: ResolvedIdentifier): Identity {
    const hash = this.hasher.hash(value);
    return { identifier: { type, source, fallback, hash }, key: `${this.keyPrefix}${hash}` };
  }
}

function resolveSimple(spec: SimpleIdentifierSpec, facts: RequestFacts): ResolvedIdentifier {
  const chain = IDENTIFIER_FALLBACKS[spec.type];
  for (const source of chain) {
    const raw = read(source, spec, facts);
    if (raw !== undefined) return { type: spec.type, source, fallback: source !== chain[0], value: `${source}=${raw}` };
  }
  // Unreachable: `anonymous` and `path` always yield a value.
  return { type: spec.type, source: 'path', fallback: true, value: `path=${facts.request.path}` };
}

function read(source: IdentifierSource, spec: SimpleIdentifierSpec, facts: RequestFacts): string | undefined {
  const { request } = facts;
  switch (source) {
    case 'consumer':
      return request.consumer?.id || undefined;
    case 'credential':
      return request.credential || undefined;
    case 'ip':
      return facts.clientIp();
    case 'header':
      return spec.type === 'header' ? headerValue(request, spec.header_name)?.trim() || undefined : undefined;
    case 'route':
      return request.route || undefined;
    case 'path':
      return request.path || '/';
    case 'anonymous':
      return ['user-agent', 'accept', 'accept-language', 'accept-encoding'].map((name) => headerValue(request, name) ?? '').join('\n');
  }
}

/**
 * Keyed hash of identifiers (HMAC-SHA-256, 128 bits, base64url): keys in Redis, metrics and events
 * never carry a raw credential or address, and without the key a hash cannot be reversed by
 * enumerating the IPv4 space. Every instance must share the key so they share counters. Recent
 * results are cached (bounded, oldest out first) because the same callers come back.
 */
export class IdentifierHasher {
  private readonly key: KeyObject;
  private readonly cache = new Map<string, string>();

  constructor(
    key: string | Uint8Array,
    private readonly cacheSize = 10_000,
  ) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (bytes.length < MIN_IDENTIFIER_KEY_BYTES)
      throw new RangeError(`the identifier key needs at least ${MIN_IDENTIFIER_KEY_BYTES} bytes`);
    this.key = createSecretKey(bytes);
  }

  hash(value: string): string {
    const cached = this.cache.get(value);
    if (cached !== undefined) return cached;
    const digest = createHmac('sha256', this.key).update(value).digest().subarray(0, 16).toString('base64url');
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(value, digest);
    return digest;
  }
}
