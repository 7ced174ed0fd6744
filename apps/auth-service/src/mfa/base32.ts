import { InvalidTotpSecretError } from './mfa.errors';

/** RFC 4648 §6 base32 alphabet: the form authenticator apps expect for TOTP secrets. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const VALUES: ReadonlyMap<string, number> = new Map([...ALPHABET].map((char, index) => [char, index]));

/** RFC 4648 base32 without `=` padding (the Key URI format omits it). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes RFC 4648 base32. Accepts lower case, spaces and trailing padding (people copy secrets by
 * hand); rejects any other character and non-zero trailing bits instead of guessing.
 */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s]/g, '').replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = VALUES.get(char);
    if (value === undefined) throw new InvalidTotpSecretError('The secret is not RFC 4648 base32');
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >>> bits) & 0xff);
    }
  }
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) throw new InvalidTotpSecretError('The secret has a malformed base32 tail');
  return Buffer.from(out);
}
