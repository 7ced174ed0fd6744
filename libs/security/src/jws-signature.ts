import { KeyObject, verify } from 'node:crypto';
import type { webcrypto } from 'node:crypto';

/** The JWS algorithms whose signatures this module checks (libs/security accepts no others on access tokens). */
export type JwsSignatureAlgorithm = 'ES256' | 'EdDSA';

/** ES256 signatures are R ‖ S, 32 bytes each (RFC 7518 §3.4); Ed25519 signatures are 64 bytes (RFC 8037 §3.1). */
const SIGNATURE_BYTES = 64;
const P256_SCALAR_BYTES = 32;

/**
 * Checks a JWS signature with node:crypto's one-shot `verify` on libuv's thread pool, so that checks
 * spread over the machine's cores instead of queueing behind the event loop.
 *
 * Why not WebCrypto (what jose uses): on Node 24 (OpenSSL 3.5), an ES256 check given the JWS form of
 * the signature (`ieee-p1363`, R ‖ S) costs about 40 % more than the same check given its DER form
 * (10.9k against 15.8k checks/s on one core here; docs/benchmarks.md), so the signature is converted
 * to DER first — a few bytes of framing, no arithmetic. The curve arithmetic stays in OpenSSL.
 *
 * Resolves false for any signature that does not verify, including one of the wrong length, one whose
 * R or S is zero or not below the group order (OpenSSL refuses those), and a key of the wrong type
 * for the algorithm. Never rejects.
 */
export function verifyJwsSignature(
  algorithm: JwsSignatureAlgorithm,
  key: KeyObject,
  signingInput: Buffer,
  signature: Uint8Array,
): Promise<boolean> {
  let digest: string | null;
  let encoded: Buffer | Uint8Array;
  if (verifiableAlgorithmOf(key) !== algorithm) return Promise.resolve(false);
  if (algorithm === 'ES256') {
    const der = p1363ToDer(signature, P256_SCALAR_BYTES);
    if (der === undefined) return Promise.resolve(false);
    digest = 'sha256';
    encoded = der;
  } else {
    if (signature.length !== SIGNATURE_BYTES) return Promise.resolve(false);
    digest = null;
    encoded = signature;
  }
  return new Promise((resolve) => {
    verify(digest, signingInput, key, encoded, (error, valid) => resolve(error === null && valid === true));
  });
}

/**
 * The DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER }) of a fixed-size
 * R ‖ S signature, or undefined when the signature is not exactly 2 × `scalarBytes` long. Each
 * integer is minimal (leading zero bytes dropped, one 0x00 added when the high bit is set, so it stays
 * positive), which is the only encoding OpenSSL accepts.
 */
export function p1363ToDer(signature: Uint8Array, scalarBytes: number): Buffer | undefined {
  if (signature.length !== 2 * scalarBytes || scalarBytes > 61) return undefined; // 61: keeps every length one byte (short form)
  const r = derInteger(signature.subarray(0, scalarBytes));
  const s = derInteger(signature.subarray(scalarBytes));
  const out = Buffer.allocUnsafe(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

function derInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const pad = magnitude[start]! & 0x80 ? 1 : 0;
  const length = magnitude.length - start + pad;
  const out = new Uint8Array(2 + length);
  out[0] = 0x02;
  out[1] = length;
  out.set(magnitude.subarray(start), 2 + pad);
  return out;
}

const verifiableAlgorithms = new WeakMap<KeyObject, JwsSignatureAlgorithm | 'none'>();

/** What a key can verify: ES256 for a P-256 public key, EdDSA for an Ed25519 public key (asked of OpenSSL once per key). */
function verifiableAlgorithmOf(key: KeyObject): JwsSignatureAlgorithm | 'none' {
  let algorithm = verifiableAlgorithms.get(key);
  if (algorithm === undefined) {
    if (key.type !== 'public') algorithm = 'none';
    else if (key.asymmetricKeyType === 'ec') algorithm = key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : 'none';
    else algorithm = key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'none';
    verifiableAlgorithms.set(key, algorithm);
  }
  return algorithm;
}

const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>();

/** The node:crypto KeyObject behind a key jose resolved (a WebCrypto CryptoKey, or already a KeyObject); converted once per key. */
export function keyObjectOf(key: unknown): KeyObject | undefined {
  if (key instanceof KeyObject) return key;
  if (!(key instanceof globalThis.CryptoKey)) return undefined;
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = KeyObject.from(key);
    keyObjects.set(key, object);
  }
  return object;
}
