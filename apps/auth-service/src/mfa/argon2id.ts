import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(argon2);

/** Argon2id cost parameters (RFC 9106) plus the salt and tag sizes written into the PHC string. */
export interface Argon2idParameters {
  /** Memory in KiB (the `m` of the PHC string). */
  readonly memoryKiB: number;
  /** Passes over memory (`t`). */
  readonly passes: number;
  /** Lanes (`p`). */
  readonly parallelism: number;
  readonly saltBytes: number;
  readonly tagBytes: number;
}

/** Argon2 version 1.3 (0x13), the only one RFC 9106 specifies. */
const ARGON2_VERSION = 19;

/** Upper bounds when parsing a stored hash, so a tampered row cannot make verification allocate gigabytes. */
const LIMITS = { memoryKiB: 1024 * 1024, passes: 20, parallelism: 16, saltBytes: [8, 64], tagBytes: [16, 64] } as const;

export interface Argon2idPhc extends Argon2idParameters {
  readonly salt: Buffer;
  readonly tag: Buffer;
}

/** Hashes `message` with a fresh random salt; returns `$argon2id$v=19$m=…,t=…,p=…$salt$tag` (PHC string, unpadded base64). */
export async function argon2idHash(message: string | Buffer, parameters: Argon2idParameters): Promise<string> {
  const salt = randomBytes(parameters.saltBytes);
  const tag = await argon2idDerive(message, salt, parameters, parameters.tagBytes);
  return formatArgon2idPhc({ ...parameters, salt, tag });
}

/** True when `message` hashes to the stored tag under the stored salt and parameters; false for a malformed PHC string. */
export async function argon2idVerify(phc: string, message: string | Buffer): Promise<boolean> {
  const parsed = parseArgon2idPhc(phc);
  if (parsed === undefined) return false;
  const tag = await argon2idDerive(message, parsed.salt, parsed, parsed.tag.length);
  return timingSafeEqual(tag, parsed.tag);
}

export function formatArgon2idPhc(phc: Argon2idPhc): string {
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=${ARGON2_VERSION}$m=${phc.memoryKiB},t=${phc.passes},p=${phc.parallelism}$${b64(phc.salt)}$${b64(phc.tag)}`;
}

/** Strict parse of an argon2id PHC string; undefined for anything else (other algorithms, versions, out-of-range costs). */
export function parseArgon2idPhc(phc: string): Argon2idPhc | undefined {
  const match = /^\$argon2id\$v=(\d+)\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (match === null || Number(match[1]) !== ARGON2_VERSION) return undefined;
  const [memoryKiB, passes, parallelism] = [Number(match[2]), Number(match[3]), Number(match[4])];
  const salt = Buffer.from(match[5]!, 'base64');
  const tag = Buffer.from(match[6]!, 'base64');
  const inRange = (value: number, min: number, max: number) => value >= min && value <= max;
  if (
    !inRange(passes, 1, LIMITS.passes) ||
    !inRange(parallelism, 1, LIMITS.parallelism) ||
    !inRange(memoryKiB, 8 * parallelism, LIMITS.memoryKiB) ||
    !inRange(salt.length, ...LIMITS.saltBytes) ||
    !inRange(tag.length, ...LIMITS.tagBytes)
  ) {
    return undefined;
  }
  return { memoryKiB, passes, parallelism, saltBytes: salt.length, tagBytes: tag.length, salt, tag };
}

/** Whether two parameter sets produce the same kind of hash (a stored hash under other costs should be rehashed). */
export function sameArgon2idParameters(a: Argon2idParameters, b: Argon2idParameters): boolean {
  return (
    a.memoryKiB === b.memoryKiB &&
    a.passes === b.passes &&
    a.parallelism === b.parallelism &&
    a.saltBytes === b.saltBytes &&
    a.tagBytes === b.tagBytes
  );
}

/** Runs on the libuv thread pool, not the event loop. */
function argon2idDerive(message: string | Buffer, salt: Buffer, parameters: Argon2idParameters, tagLength: number): Promise<Buffer> {
  return derive('argon2id', {
    message,
    nonce: salt,
    memory: parameters.memoryKiB,
    passes: parameters.passes,
    parallelism: parameters.parallelism,
    tagLength,
  });
}
