// Moved to libs/hsm; kept until every import in this app uses '@traceo/hsm'.
export { KEY_ENCRYPTION_KEY, type HsmTokenInfo, type KeyEncryptionKey } from '@traceo/hsm';
