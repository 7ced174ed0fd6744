import { createPublicKey } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';

/** Signature algorithms accepted on access tokens. Nothing symmetric, nothing RSA, never `none`. */
export const ACCESS_TOKEN_ALGORITHMS = ['ES256', 'EdDSA'] as const;

/** JWS compact serialization: three base64url segments (the last may be empty, as with `alg: none`). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(credential: string): boolean {
  return COMPACT_JWS.test(credential);
}

/** Members that only private or symmetric JWKs carry (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Key types that can verify the accepted algorithms: ES256 needs P-256, EdDSA needs Ed25519. */
const VERIFYING_CURVES: Readonly<Record<string, string>> = { EC: 'P-256', OKP: 'Ed25519' };
const VERIFYING_ALGS: ReadonlySet<string> = new Set(ACCESS_TOKEN_ALGORITHMS);

export class InvalidJwksError extends Error {
  override readonly name = 'InvalidJwksError';
}

/**
 * Parses an inline JWKS (TRACEO_JWT_JWKS) and refuses anything but public P-256 or Ed25519
 * signature-verification keys. A private member anywhere means the signing key leaked into the
 * configuration: refused rather than silently stripped. Messages never repeat key material.
 */
export function parsePublicJwks(text: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidJwksError('must be a JSON Web Key Set (JSON)');
  }
  return assertPublicJwks(parsed);
}

export function assertPublicJwks(value: unknown): JSONWebKeySet {
  const keys = isObject(value) ? value['keys'] : undefined;
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidJwksError('must be a JSON Web Key Set with at least one key in "keys"');
  keys.forEach((key: unknown, index) => assertPublicVerificationKey(key, index));
  return { keys: keys as JWK[] };
}

function assertPublicVerificationKey(key: unknown, index: number): void {
  const where = `key ${index}`;
  if (!isObject(key)) throw new InvalidJwksError(`${where} is not a JSON object`);
  const secret = PRIVATE_MEMBERS.find((member) => member in key);
  if (secret) throw new InvalidJwksError(`must contain public keys only: ${where} has the private member "${secret}"`);
  const { kty, crv, alg, use } = key;
  if (typeof kty !== 'string' || VERIFYING_CURVES[kty] === undefined || crv !== VERIFYING_CURVES[kty])
    throw new InvalidJwksError(`${where} must be an EC P-256 or OKP Ed25519 key`);
  if (alg !== undefined && (typeof alg !== 'string' || !VERIFYING_ALGS.has(alg)))
    throw new InvalidJwksError(`${where} has an "alg" other than ${ACCESS_TOKEN_ALGORITHMS.join(' or ')}`);
  if (use !== undefined && use !== 'sig') throw new InvalidJwksError(`${where} is not a signature key ("use" must be "sig")`);
  try {
    createPublicKey({ key, format: 'jwk' });
  } catch {
    throw new InvalidJwksError(`${where} is not a valid public key`);
  }
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why a TRACEO_JWT_JWKS_URL is unacceptable, or undefined: https, or http to the loopback host only. */
export function jwksUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
