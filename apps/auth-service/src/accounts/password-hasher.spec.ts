import { argon2Sync } from 'node:crypto';
import { ARGON2ID_PARAMETERS, hashPassword, needsRehash, verifyPassword } from './password-hasher';

describe('argon2id password hashing', () => {
  it('stores a PHC string with the documented parameters and verifies the password', async () => {
    const phc = await hashPassword('correct horse battery staple');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    await expect(verifyPassword('correct horse battery staple', phc)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapler', phc)).resolves.toBe(false);
    expect(needsRehash(phc)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('matches the RFC 9106 §5.3 argon2id test vector through the same primitive', () => {
    const tag = argon2Sync('argon2id', {
      message: Buffer.alloc(32, 0x01),
      nonce: Buffer.alloc(16, 0x02),
      secret: Buffer.alloc(8, 0x03),
      associatedData: Buffer.alloc(12, 0x04),
      memory: 32,
      passes: 3,
      parallelism: 4,
      tagLength: 32,
    });
    expect(tag.toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  it('refuses malformed hashes and over-long passwords without throwing', async () => {
    await expect(verifyPassword('x', '$argon2i$v=19$m=1,t=1,p=1$AAAA$BBBB')).resolves.toBe(false);
    const phc = await hashPassword('x');
    await expect(verifyPassword('x'.repeat(1025), phc)).resolves.toBe(false);
    expect(needsRehash('$argon2id$v=19$m=4096,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(true);
    expect(ARGON2ID_PARAMETERS.memoryKiB).toBe(19456);
  });
});
