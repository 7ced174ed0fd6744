import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { loadInfraEnv } from '@traceo/testing';
import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError, Pkcs11Ed25519Signer, openTokenSession, type Pkcs11Options } from '../src';

function softHsm(): Pkcs11Options {
  const { raw } = loadInfraEnv();
  return { modulePath: raw.TRACEO_PKCS11_MODULE!, tokenLabel: raw.TRACEO_PKCS11_TOKEN_LABEL!, pin: raw.TRACEO_PKCS11_PIN! };
}

function verifies(message: Buffer, signature: Buffer, publicKeyRaw: Buffer): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKeyRaw.toString('base64url') }, format: 'jwk' });
  return verify(null, message, key, signature);
}

describe('Ed25519 signing key in the SoftHSM2 token', () => {
  const label = `traceo-test-signer-${randomBytes(4).toString('hex')}`;
  let signer: Pkcs11Ed25519Signer;

  beforeAll(() => {
    signer = Pkcs11Ed25519Signer.open(softHsm(), label);
  });

  afterAll(() => signer?.close());

  it('signs inside the token; node:crypto verifies with the raw public key', () => {
    const message = Buffer.from('traceo.audit.checkpoint.v1\ntenant\n1\n');
    const signature = signer.sign(message);
    expect(signature).toHaveLength(64);
    expect(signer.publicKeyRaw).toHaveLength(32);
    expect(verifies(message, signature, signer.publicKeyRaw)).toBe(true);
    expect(verifies(Buffer.from('another message'), signature, signer.publicKeyRaw)).toBe(false);
  });

  it('finds the same persistent key pair again under its label', () => {
    const again = Pkcs11Ed25519Signer.open(softHsm(), label);
    try {
      expect(again.publicKeyRaw.equals(signer.publicKeyRaw)).toBe(true);
      const message = randomBytes(100);
      expect(verifies(message, again.sign(message), signer.publicKeyRaw)).toBe(true);
    } finally {
      again.close();
    }
  });

  it('keeps the private key in the token: sensitive, not extractable, value unreadable', () => {
    const token = openTokenSession(softHsm());
    try {
      const { pkcs11, session } = token;
      pkcs11.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: label },
      ]);
      const handle = pkcs11.C_FindObjects(session);
      pkcs11.C_FindObjectsFinal(session);
      expect(handle).toBeTruthy();
      const [sensitive, extractable, persistent] = pkcs11.C_GetAttributeValue(session, handle!, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
      ]);
      expect([sensitive!.value, extractable!.value, persistent!.value].map((v) => v[0])).toEqual([1, 0, 1]);
      expect(() => pkcs11.C_GetAttributeValue(session, handle!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      // Clean up the test's key pair so the token does not accumulate objects.
      for (const objectClass of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
        pkcs11.C_FindObjectsInit(session, [
          { type: pkcs11js.CKA_CLASS, value: objectClass },
          { type: pkcs11js.CKA_LABEL, value: label },
        ]);
        const found = pkcs11.C_FindObjects(session);
        pkcs11.C_FindObjectsFinal(session);
        if (found) pkcs11.C_DestroyObject(session, found);
      }
    } finally {
      token.close();
    }
  });

  it('reports a wrong PIN as CRYPTO.HSM_UNAVAILABLE without echoing it', () => {
    // Login state belongs to the application, not the session: close every handle first, so the
    // library is finalized and the next open really logs in again.
    signer.close();
    const pin = 'not-the-pin-4242';
    let error: unknown;
    try {
      Pkcs11Ed25519Signer.open({ ...softHsm(), pin }, label);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HsmUnavailableError);
    expect(String((error as Error).message)).not.toContain(pin);
  });
});
