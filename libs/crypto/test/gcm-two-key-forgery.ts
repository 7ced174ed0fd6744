import { createCipheriv } from 'node:crypto';

// Builds one AES-GCM ciphertext block and tag that authenticate under two different keys with the
// same nonce and additional data (the "invisible salamanders" / partitioning-oracle construction):
// GHASH is linear in each ciphertext block, so one free block solves the tag equation for both keys.

const R = 0xe1n << 120n;
const ONE = 1n << 127n; // GCM's bit-reflected field element 1

function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let bit = 127n; bit >= 0n; bit--) {
    if ((x >> bit) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

function gfInverse(x: bigint): bigint {
  // x^(2^128 - 2)
  let result = ONE;
  let base = x;
  let exponent = (1n << 128n) - 2n;
  while (exponent > 0n) {
    if (exponent & 1n) result = gfMul(result, base);
    base = gfMul(base, base);
    exponent >>= 1n;
  }
  return result;
}

const toBig = (block: Uint8Array): bigint => BigInt(`0x${Buffer.from(block).toString('hex').padStart(32, '0')}`);
const toBlock = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(32, '0'), 'hex');

function aesBlock(key: Uint8Array, block: Uint8Array): bigint {
  const cipher = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return toBig(Buffer.concat([cipher.update(block), cipher.final()]));
}

function ghash(h: bigint, aad: Uint8Array, ciphertext: Uint8Array): bigint {
  const padded = (bytes: Uint8Array): Buffer => Buffer.concat([bytes, Buffer.alloc((16 - (bytes.length % 16)) % 16)]);
  const lengths = Buffer.alloc(16);
  lengths.writeBigUInt64BE(BigInt(aad.length * 8), 0);
  lengths.writeBigUInt64BE(BigInt(ciphertext.length * 8), 8);
  const data = Buffer.concat([padded(aad), padded(ciphertext), lengths]);
  let y = 0n;
  for (let offset = 0; offset < data.length; offset += 16) y = gfMul(y ^ toBig(data.subarray(offset, offset + 16)), h);
  return y;
}

/** A one-block ciphertext and tag valid under both keys for this 12-byte nonce and aad. */
export function twoKeyGcmForgery(
  key1: Uint8Array,
  key2: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  const j0 = Buffer.concat([nonce, Buffer.from([0, 0, 0, 1])]);
  const [h1, h2] = [aesBlock(key1, Buffer.alloc(16)), aesBlock(key2, Buffer.alloc(16))];
  const [e1, e2] = [aesBlock(key1, j0), aesBlock(key2, j0)];
  // With one ciphertext block C: GHASH = g(C = 0) ⊕ C·H², so solve g1 ⊕ C·H1² ⊕ E1 = g2 ⊕ C·H2² ⊕ E2.
  const zero = Buffer.alloc(16);
  const [h1Squared, h2Squared] = [gfMul(h1, h1), gfMul(h2, h2)];
  const block = gfMul(ghash(h1, aad, zero) ^ ghash(h2, aad, zero) ^ e1 ^ e2, gfInverse(h1Squared ^ h2Squared));
  const ciphertext = toBlock(block);
  return { ciphertext, tag: toBlock(ghash(h1, aad, ciphertext) ^ e1) };
}
