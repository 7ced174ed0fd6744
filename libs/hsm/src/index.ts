export { HsmUnavailableError, KeyIntegrityError } from './hsm.errors';
export { KEY_ENCRYPTION_KEY, type HsmTokenInfo, type KeyEncryptionKey } from './key-encryption-key.port';
export { KEK_LABEL, Pkcs11KeyEncryptionKey } from './pkcs11-key-encryption-key';
export { Pkcs11Ed25519Signer, type Ed25519Signer } from './pkcs11-ed25519-signer';
export { openTokenSession, type Pkcs11Options, type TokenSession } from './pkcs11-library';
export { KeyEncryptionKeyModule } from './key-encryption-key.module';
export { pkcs11ConfigShape, type Pkcs11Config } from './pkcs11.config';
