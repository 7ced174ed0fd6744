import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

// @noble/post-quantum ships only ES modules; the workspace compiles to CommonJS and Jest transforms it.
describe('@noble/post-quantum under Jest', () => {
  it('agrees on a shared secret through hybrid ML-KEM-768 + X25519', () => {
    const { publicKey, secretKey } = ml_kem768_x25519.keygen();
    const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(publicKey);
    expect(Buffer.from(ml_kem768_x25519.decapsulate(cipherText, secretKey))).toEqual(Buffer.from(sharedSecret));
  });
});
