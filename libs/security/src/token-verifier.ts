import { isValidTenantId } from '@traceo/contracts';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type CompactJWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { InvalidTokenError, SigningKeysUnavailableError } from './auth.errors';
import { keyObjectOf, verifyJwsSignature, type JwsSignatureAlgorithm } from './jws-signature';
import { ACCESS_TOKEN_ALGORITHMS, assertPublicJwks, jwksUrlProblem } from './jwt-keys';
import { ALL_TENANTS, type Principal } from './principal';
import type { RevokedGrantsView } from './revoked-grants';
import { effectivePermissions, knownRoles } from './roles';
import { VerifiedTokenCache } from './verified-token-cache';

/** Where the issuer's public signing keys come from: an inline JWKS, or the issuer's JWKS URL. */
export type SigningKeySource = { readonly jwks: JSONWebKeySet } | { readonly jwksUrl: string };

export interface TokenVerifierOptions {
  /** Exact `iss`. */
  readonly issuer: string;
  /** Required member of `aud`. */
  readonly audience: string;
  readonly keys: SigningKeySource;
  /** Clock skew allowed on `exp` and `nbf`, in seconds; default 30. */
  readonly clockToleranceSeconds?: number;
  /** Timeout of one JWKS fetch, in milliseconds; default 2000. */
  readonly jwksTimeoutMs?: number;
  /**
   * Verified tokens are remembered (by hash) for this long, never past their `exp`, so a reused
   * token skips the signature check; default 60 s (a remote JWKS is itself cached 10 min). 0 disables.
   */
  readonly verifiedCacheSeconds?: number;
  /** At most this many remembered tokens; default 10000. */
  readonly verifiedCacheEntries?: number;
  /**
   * Grants auth-service revoked (a replayed code or refresh token): a token whose `grant_id` is here
   * is refused, remembered or not. Without it, a token lives out its `exp` whatever happened to its grant.
   */
  readonly revokedGrants?: RevokedGrantsView;
}

/** Why a token was refused: for logs and tests only, never sent to the caller. */
export type TokenRefusal = 'malformed' | 'type' | 'algorithm' | 'key' | 'signature' | 'expired' | 'revoked' | `claim:${string}`;

const MAX_TOKEN_LENGTH = 8192;
const SUBJECT_MAX = 256; // the audit record's actor id limit
/** RFC 9068 `at+jwt`, or plain `JWT`; media types compare case-insensitively, `application/` optional (RFC 7515 §4.1.9). */
const ACCEPTED_TYPES: ReadonlySet<string> = new Set(['at+jwt', 'jwt']);
const KEY_SELECTION_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];
const ALGORITHMS: ReadonlySet<string> = new Set(ACCESS_TOKEN_ALGORITHMS);
/** Three base64url segments (the signature empty in an unsecured `alg: none` token, refused by its algorithm). */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Raised inside key resolution when the key source itself failed (fetch error, timeout, bad JWKS document). */
class KeySourceFailure extends Error {}

/**
 * Verifies signed JWT access tokens (RFC 9068 shape) and turns their claims into a Principal.
 * Only ES256 and EdDSA signatures from the configured keys are accepted, so `none`, HMAC with a
 * public key as the secret, and RSA are refused before any key is even looked up. `iss` must match
 * exactly, `aud` must contain the audience, `exp` and `sub` are required, `nbf` is honoured.
 *
 * jose selects the key (inline JWKS, or the issuer's JWKS URL with its caching and cool-down) and is
 * the reference the checks below follow (RFC 7515, RFC 7519 §7.2); the signature itself is checked by
 * verifyJwsSignature, which is node:crypto on the thread pool instead of jose's WebCrypto call: on
 * Node 24 that is what lets a guard check a never-seen token at about the rate both cores allow
 * (docs/benchmarks.md, bench/auth). token-verifier.jose.spec.ts holds the two to the same answers.
 */
export class TokenVerifier {
  private readonly getKey: JWTVerifyGetKey;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly clockToleranceSeconds: number;
  private readonly verified: VerifiedTokenCache;
  private readonly revokedGrants: RevokedGrantsView | undefined;

  constructor(options: TokenVerifierOptions) {
    if (!options.issuer) throw new TypeError('issuer is required');
    if (!options.audience) throw new TypeError('audience is required');
    this.getKey = guardKeySource(keyResolver(options));
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
    if (!(this.clockToleranceSeconds >= 0)) throw new TypeError('clockToleranceSeconds must be 0 or more');
    this.verified = new VerifiedTokenCache((options.verifiedCacheSeconds ?? 60) * 1000, options.verifiedCacheEntries ?? 10_000);
    this.revokedGrants = options.revokedGrants;
  }

  /** The token's principal; throws InvalidTokenError (401) or SigningKeysUnavailableError (503). */
  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw refused('malformed');
    const remembered = this.verified.get(token);
    if (remembered) return this.unlessRevoked(remembered);
    const segments = COMPACT_JWS.exec(token);
    if (segments === null) throw refused('malformed');
    const [, encodedHeader, encodedPayload, encodedSignature] = segments as unknown as [string, string, string, string];
    const header = decodeJsonObject(encodedHeader);
    // No extension is understood, so none may be critical (RFC 7515 §4.1.11); jose accepts only `b64`.
    if (header === undefined || header['crit'] !== undefined || typeof header['alg'] !== 'string' || header['alg'] === '')
      throw refused('malformed');
    const algorithm = header['alg'];
    if (!ALGORITHMS.has(algorithm)) throw refused('algorithm');
    const signature = Buffer.from(encodedSignature, 'base64url');
    // One encoding per signature: the segment must be exactly what its bytes encode to.
    if (signature.toString('base64url') !== encodedSignature) throw refused('malformed');
    let key: unknown;
    try {
      key = await this.getKey(header as CompactJWSHeaderParameters, { payload: encodedPayload, signature: encodedSignature });
    } catch (error) {
      if (error instanceof KeySourceFailure) throw new SigningKeysUnavailableError('the token-signing keys are unavailable; retry later');
      throw refused(refusalOf(error));
    }
    const keyObject = keyObjectOf(key);
    if (keyObject === undefined) throw refused('key');
    const signingInput = Buffer.from(token.slice(0, encodedHeader.length + 1 + encodedPayload.length), 'ascii');
    if (!(await verifyJwsSignature(algorithm as JwsSignatureAlgorithm, keyObject, signingInput, signature))) throw refused('signature');
    const payload = decodeJsonObject(encodedPayload);
    if (payload === undefined) throw refused('malformed');
    this.checkClaims(payload);
    const type = header['typ'];
    if (typeof type !== 'string' || !ACCEPTED_TYPES.has(type.toLowerCase().replace(/^application\//, ''))) throw refused('type');
    const principal = principalFromClaims(payload);
    this.verified.set(token, principal, ((payload.exp as number) + this.clockToleranceSeconds) * 1000);
    return this.unlessRevoked(principal);
  }

  private unlessRevoked(principal: Principal): Principal {
    if (principal.grantId !== undefined && this.revokedGrants?.has(principal.grantId)) throw refused('revoked');
    return principal;
  }

  /** RFC 7519 §4.1 registered claims, in the order and with the outcomes of jose's jwtVerify with the same options. */
  private checkClaims(payload: JWTPayload): void {
    for (const claim of ['iss', 'aud', 'sub', 'exp'] as const) if (!Object.hasOwn(payload, claim)) throw refused(`claim:${claim}`);
    if (payload.iss !== this.issuer) throw refused('claim:iss');
    const { aud } = payload;
    if (!(aud === this.audience || (Array.isArray(aud) && aud.includes(this.audience)))) throw refused('claim:aud');
    const now = Math.floor(Date.now() / 1000);
    const tolerance = this.clockToleranceSeconds;
    if (payload.iat !== undefined && typeof payload.iat !== 'number') throw refused('claim:iat');
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + tolerance)) throw refused('claim:nbf');
    if (typeof payload.exp !== 'number') throw refused('claim:exp');
    if (payload.exp <= now - tolerance) throw refused('expired');
  }
}

/** A base64url segment's JSON object (strict UTF-8), or undefined when it is anything else. */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function keyResolver(options: TokenVerifierOptions): JWTVerifyGetKey {
  if ('jwks' in options.keys) return createLocalJWKSet(assertPublicJwks(options.keys.jwks));
  const problem = jwksUrlProblem(options.keys.jwksUrl);
  if (problem) throw new TypeError(`jwksUrl ${problem}`);
  return createRemoteJWKSet(new URL(options.keys.jwksUrl), { timeoutDuration: options.jwksTimeoutMs ?? 2000 });
}

/** Separates "no key fits this token" (the token's fault) from "the keys could not be loaded" (ours). */
function guardKeySource(resolve: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await resolve(header, token);
    } catch (error) {
      if (KEY_SELECTION_ERRORS.some((type) => error instanceof type)) throw error;
      throw new KeySourceFailure('signing keys unavailable', { cause: error });
    }
  };
}

function refusalOf(error: unknown): TokenRefusal {
  return KEY_SELECTION_ERRORS.some((type) => error instanceof type) ? 'key' : 'malformed';
}

function refused(reason: TokenRefusal): InvalidTokenError {
  return new InvalidTokenError('the access token is not valid', { reason });
}

function principalFromClaims(payload: JWTPayload): Principal {
  const { sub, tenant_id: tenantId, roles, scope, client_id: clientId, grant_id: grantId } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUBJECT_MAX) throw refused('claim:sub');
  if (typeof tenantId !== 'string' || (tenantId !== ALL_TENANTS && !isValidTenantId(tenantId))) throw refused('claim:tenant_id');
  if (roles !== undefined && !Array.isArray(roles)) throw refused('claim:roles');
  if (scope !== undefined && typeof scope !== 'string') throw refused('claim:scope');
  if (clientId !== undefined && typeof clientId !== 'string') throw refused('claim:client_id');
  if (grantId !== undefined && (typeof grantId !== 'string' || grantId.length === 0 || grantId.length > 128))
    throw refused('claim:grant_id');
  const granted = knownRoles(roles ?? []);
  const scopes = scope?.split(' ').filter(Boolean);
  return {
    subject: sub,
    tenantId,
    roles: granted,
    permissions: effectivePermissions(granted, scopes),
    via: 'jwt',
    ...(clientId !== undefined ? { clientId } : {}),
    ...(scopes !== undefined ? { scopes } : {}),
    ...(grantId !== undefined ? { grantId } : {}),
  };
}
