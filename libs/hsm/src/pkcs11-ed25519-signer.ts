import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError } from './hsm.errors';
import { describe, openTokenSession, type Pkcs11Options, type TokenSession } from './pkcs11-library';

// PKCS#11 3.0 Edwards-curve values; pkcs11js 2.x does not name them.
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** DER of the Ed25519 object identifier 1.3.101.112, the curve parameter of an Ed25519 key. */
const ED25519_EC_PARAMS = Buffer.from('06032b6570', 'hex');
const ED25519_SIGNATURE_LENGTH = 64;

/** Something that signs with Ed25519 and can say which public key verifies it. */
export interface Ed25519Signer {
  /** The 32-byte raw public key. */
  readonly publicKeyRaw: Buffer;
  sign(message: Buffer): Buffer;
  close(): void;
}

/**
 * An Ed25519 key pair that lives in a PKCS#11 token under a label: the private key is a persistent,
 * private, sensitive, non-extractable token object, generated in the token the first time and never
 * read out; signing is CKM_EDDSA inside the token. SoftHSM2 (built with EdDSA) in development;
 * on AWS CloudHSM, which has no EdDSA, use the software signer instead (see docs/audit.md).
 */
export class Pkcs11Ed25519Signer implements Ed25519Signer {
  private closed = false;

  private constructor(
    private readonly token: TokenSession,
    private readonly privateKey: Buffer,
    readonly publicKeyRaw: Buffer,
  ) {}

  static open(options: Pkcs11Options, label: string): Pkcs11Ed25519Signer {
    const token = openTokenSession(options);
    try {
      const { pkcs11, session } = token;
      let privateKey = findObject(pkcs11, session, pkcs11js.CKO_PRIVATE_KEY, label);
      let publicKey = findObject(pkcs11, session, pkcs11js.CKO_PUBLIC_KEY, label);
      if (!privateKey || !publicKey) {
        ({ privateKey, publicKey } = generate(pkcs11, session, label));
      }
      return new Pkcs11Ed25519Signer(token, privateKey, readPublicKey(pkcs11, session, publicKey));
    } catch (error) {
      token.close();
      if (error instanceof HsmUnavailableError) throw error;
      throw new HsmUnavailableError(`cannot open the Ed25519 signing key: ${describe(error)}`);
    }
  }

  sign(message: Buffer): Buffer {
    if (this.closed) throw new HsmUnavailableError('the signing key is closed');
    try {
      this.token.pkcs11.C_SignInit(this.token.session, { mechanism: CKM_EDDSA }, this.privateKey);
      return Buffer.from(this.token.pkcs11.C_Sign(this.token.session, message, Buffer.alloc(ED25519_SIGNATURE_LENGTH)));
    } catch (error) {
      throw new HsmUnavailableError(`the HSM could not sign: ${describe(error)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.token.close();
  }
}

function findObject(pkcs11: pkcs11js.PKCS11, session: Buffer, objectClass: number, label: string): Buffer | undefined {
  pkcs11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: objectClass },
    { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  try {
    return pkcs11.C_FindObjects(session) ?? undefined;
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

function generate(pkcs11: pkcs11js.PKCS11, session: Buffer, label: string): { privateKey: Buffer; publicKey: Buffer } {
  const keys = pkcs11.C_GenerateKeyPair(
    session,
    { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
    [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_EC_PARAMS },
    ],
    [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
    ],
  );
  return { privateKey: keys.privateKey, publicKey: keys.publicKey };
}

/** CKA_EC_POINT is the 32-byte point, DER-wrapped as an OCTET STRING by most tokens (04 20 ‖ point). */
function readPublicKey(pkcs11: pkcs11js.PKCS11, session: Buffer, publicKey: Buffer): Buffer {
  const [attribute] = pkcs11.C_GetAttributeValue(session, publicKey, [{ type: pkcs11js.CKA_EC_POINT }]);
  const point = attribute?.value;
  if (!Buffer.isBuffer(point)) throw new HsmUnavailableError('the token did not return the Ed25519 public key');
  if (point.length === 32) return Buffer.from(point);
  if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) return Buffer.from(point.subarray(2));
  throw new HsmUnavailableError('the token returned an Ed25519 public key in an unknown encoding');
}
