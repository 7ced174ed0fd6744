import { isValidTenantId } from '@traceo/contracts';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { InvalidTokenError, SigningKeysUnavailableError } from './auth.errors';
import { ACCESS_TOKEN_ALGORITHMS, assertPublicJwks, jwksUrlProblem } from './jwt-keys';
import { ALL_TENANTS, type Principal } from './principal';
import { knownRoles, permissionsOf } from './roles';
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
}

/** Why a token was refused: for logs and tests only, never sent to the caller. */
export type TokenRefusal = 'malformed' | 'type' | 'algorithm' | 'key' | 'signature' | 'expired' | `claim:${string}`;

const MAX_TOKEN_LENGTH = 8192;
const SUBJECT_MAX = 256; // the audit record's actor id limit
/** RFC 9068 `at+jwt`, or plain `JWT`; media types compare case-insensitively, `application/` optional (RFC 7515 §4.1.9). */
const ACCEPTED_TYPES: ReadonlySet<string> = new Set(['at+jwt', 'jwt']);
const KEY_SELECTION_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

/** Raised inside key resolution when the key source itself failed (fetch error, timeout, bad JWKS document). */
class KeySourceFailure extends Error {}

/**
 * Verifies signed JWT access tokens (RFC 9068 shape) and turns their claims into a Principal.
 * Only ES256 and EdDSA signatures from the configured keys are accepted, so `none`, HMAC with a
 * public key as the secret, and RSA are refused before any key is even looked up. `iss` must match
 * exactly, `aud` must contain the audience, `exp` is required.
 */
export class TokenVerifier {
  private readonly getKey: JWTVerifyGetKey;
  private readonly verifyOptions: JWTVerifyOptions;
  private readonly clockToleranceSeconds: number;
  private readonly verified: VerifiedTokenCache;

  constructor(options: TokenVerifierOptions) {
    if (!options.issuer) throw new TypeError('issuer is required');
    if (!options.audience) throw new TypeError('audience is required');
    this.getKey = guardKeySource(keyResolver(options));
    this.clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
    this.verifyOptions = {
      algorithms: [...ACCESS_TOKEN_ALGORITHMS],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: this.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    };
    this.verified = new VerifiedTokenCache((options.verifiedCacheSeconds ?? 60) * 1000, options.verifiedCacheEntries ?? 10_000);
  }

  /** The token's principal; throws InvalidTokenError (401) or SigningKeysUnavailableError (503). */
  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw refused('malformed');
    const remembered = this.verified.get(token);
    if (remembered) return remembered;
    let payload: JWTPayload;
    let type: unknown;
    try {
      const result = await jwtVerify(token, this.getKey, this.verifyOptions);
      payload = result.payload;
      type = result.protectedHeader.typ;
    } catch (error) {
      if (error instanceof KeySourceFailure) throw new SigningKeysUnavailableError('the token-signing keys are unavailable; retry later');
      throw refused(refusalOf(error));
    }
    if (typeof type !== 'string' || !ACCEPTED_TYPES.has(type.toLowerCase().replace(/^application\//, ''))) throw refused('type');
    const principal = principalFromClaims(payload);
    this.verified.set(token, principal, (payload.exp! + this.clockToleranceSeconds) * 1000);
    return principal;
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
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim:${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (KEY_SELECTION_ERRORS.some((type) => error instanceof type)) return 'key';
  return 'malformed';
}

function refused(reason: TokenRefusal): InvalidTokenError {
  return new InvalidTokenError('the access token is not valid', { reason });
}

function principalFromClaims(payload: JWTPayload): Principal {
  const { sub, tenant_id: tenantId, roles, scope, client_id: clientId } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUBJECT_MAX) throw refused('claim:sub');
  if (typeof tenantId !== 'string' || (tenantId !== ALL_TENANTS && !isValidTenantId(tenantId))) throw refused('claim:tenant_id');
  if (roles !== undefined && !Array.isArray(roles)) throw refused('claim:roles');
  if (scope !== undefined && typeof scope !== 'string') throw refused('claim:scope');
  if (clientId !== undefined && typeof clientId !== 'string') throw refused('claim:client_id');
  const granted = knownRoles(roles ?? []);
  return {
    subject: sub,
    tenantId,
    roles: granted,
    permissions: permissionsOf(granted),
    via: 'jwt',
    ...(clientId !== undefined ? { clientId } : {}),
    ...(scope !== undefined ? { scopes: scope.split(' ').filter(Boolean) } : {}),
  };
}
