import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * argon2id parameters (RFC 9106; OWASP Password Storage Cheat Sheet's first configuration):
 * 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt and a 32-byte tag. About 30-60 ms on
 * one core of the development machines; raise `memoryKiB` when the hardware allows.
 */
export const ARGON2ID_PARAMETERS = Object.freeze({ memoryKiB: 19_456, passes: 2, parallelism: 1, saltBytes: 16, tagBytes: 32 });

const PHC = /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;
/** Passwords longer than this are refused before hashing (argon2 takes any length; this bounds CPU per request). */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, memory: number, passes: number, parallelism: number, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    argon2('argon2id', { message: Buffer.from(password, 'utf8'), nonce: salt, memory, passes, parallelism, tagLength }, (error, tag) =>
      error ? reject(error) : resolve(tag),
    ),
  );
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/** An argon2id hash in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
export async function hashPassword(password: string): Promise<string> {
  const { memoryKiB, passes, parallelism, saltBytes, tagBytes } = ARGON2ID_PARAMETERS;
  const salt = randomBytes(saltBytes);
  const tag = await derive(password, salt, memoryKiB, passes, parallelism, tagBytes);
  return `$argon2id$v=19$m=${memoryKiB},t=${passes},p=${parallelism}$${b64(salt)}$${b64(tag)}`;
}

/** Whether the password matches the PHC hash (constant-time comparison); false for a malformed hash. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const match = PHC.exec(phc);
  if (!match || password.length > MAX_PASSWORD_LENGTH) return false;
  const [, memory, passes, parallelism, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64');
  const tag = await derive(password, Buffer.from(salt!, 'base64'), Number(memory), Number(passes), Number(parallelism), expected.length);
  return timingSafeEqual(tag, expected);
}

/** Whether a stored hash uses weaker parameters than the current ones (rehash after the next sign-in). */
export function needsRehash(phc: string): boolean {
  const match = PHC.exec(phc);
  if (!match) return true;
  return Number(match[1]) < ARGON2ID_PARAMETERS.memoryKiB || Number(match[2]) < ARGON2ID_PARAMETERS.passes;
}
