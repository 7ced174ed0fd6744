/**
 * Log redaction: values stored under a secret name never reach a log line.
 *
 * Runs as pino's `formatters.log` and `formatters.bindings`, before serializers, on the object a
 * log call was given. A member is censored when its name, compared case-insensitively, is one of
 * SECRET_NAMES, at any depth of plain objects, arrays and Error objects (their enumerable own
 * properties and `cause`). Class instances other than errors (an IncomingMessage, a Buffer, a Date)
 * are not walked: they reach the log only through the serializers, and the req and res serializers
 * of http-logging.ts copy out a few named fields and nothing else (no headers, no body).
 *
 * Copy on write: an object without secrets is returned as it is, so the common line costs a walk
 * over its few members and allocates nothing. pino's own path redaction (@pinojs/redact) copied every
 * logged object and re-read its path list on every line, about 20 µs a line here.
 */

export const CENSOR = '[redacted]';

/** What stands for a value nested more than MAX_DEPTH levels deep (walked no further, never shown). */
export const TOO_DEEP = '[redacted: nested too deep]';

/** Objects nested deeper than this are replaced whole: a secret cannot hide below the walk. */
export const MAX_DEPTH = 8;

/** Member names whose values are censored, lower case; a name matches whatever its case. */
export const SECRET_NAMES: ReadonlySet<string> = new Set(
  [
    // Credentials and tokens
    'password',
    'passwd',
    'secret',
    'clientSecret',
    'client_secret',
    'token',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'idToken',
    'id_token',
    'apiKey',
    'api_key',
    'privateKey',
    'private_key',
    'pin',
    // HTTP headers that carry credentials
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    // Configuration that holds secrets (loadConfig's names, and the parsed forms)
    'databaseUrl',
    'TRACEO_DATABASE_URL',
    'TRACEO_DATABASE_OWNER_URL',
    'TRACEO_API_KEYS',
    'TRACEO_AUDIT_SIGNING_KEY',
    'TRACEO_AUDIT_CURSOR_KEY',
    'TRACEO_ENCRYPTION_API_KEY',
    'TRACEO_PKCS11_PIN',
    'TRACEO_REDIS_URL',
  ].map((name) => name.toLowerCase()),
);

/** Lengths of the secret names: most members are ruled out without lower-casing their name. */
const SECRET_LENGTHS = new Set([...SECRET_NAMES].map((name) => name.length));

export function isSecretName(name: string): boolean {
  return SECRET_LENGTHS.has(name.length) && SECRET_NAMES.has(name.toLowerCase());
}

/** `value` with every secret member censored; `value` itself when it holds none. */
export function redactSecrets<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      const next = walk(item, depth + 1);
      if (next !== item) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    return copy ?? value;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    return walkMembers(value as Record<string, unknown>, depth, () => ({ ...(value as Record<string, unknown>) }));
  }
  if (value instanceof Error) {
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    return walkError(value, depth);
  }
  return value;
}

/** Censors the object's secret members and walks the others; copies the object on the first change. */
function walkMembers<T extends object>(object: T, depth: number, copyOf: () => T): T {
  let copy: T | undefined;
  const members = object as Record<string, unknown>;
  for (const key in members) {
    if (!Object.prototype.hasOwnProperty.call(members, key)) continue;
    const member = members[key];
    const next = isSecretName(key) ? (member === undefined ? member : CENSOR) : walk(member, depth + 1);
    if (next !== member) {
      copy ??= copyOf();
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return copy ?? object;
}

/**
 * An error whose enumerable properties or cause hold a secret is replaced by a copy of the same class
 * (message, stack and name kept), so pino's error serializer still treats it as the error it was.
 */
function walkError(error: Error, depth: number): Error {
  const copyOf = () => {
    const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
    for (const name of ['message', 'stack', 'name'] as const) {
      if (Object.prototype.hasOwnProperty.call(error, name)) {
        Object.defineProperty(copy, name, { value: error[name], writable: true, configurable: true, enumerable: false });
      }
    }
    Object.assign(copy, error);
    if ('cause' in error) Object.defineProperty(copy, 'cause', { value: error.cause, writable: true, configurable: true });
    return copy;
  };
  let copy = walkMembers(error, depth, copyOf);
  if ('cause' in error && !Object.prototype.propertyIsEnumerable.call(error, 'cause')) {
    const next = walk(error.cause, depth + 1);
    if (next !== error.cause) {
      if (copy === error) copy = copyOf();
      Object.defineProperty(copy, 'cause', { value: next, writable: true, configurable: true });
    }
  }
  return copy;
}
