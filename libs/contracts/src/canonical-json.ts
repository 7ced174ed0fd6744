/**
 * RFC 8785 JSON Canonicalization Scheme: object members sorted by UTF-16 code units, no
 * whitespace, strings and numbers serialized as ECMAScript does (which is what RFC 8785 specifies).
 * Audit records are hashed into the Merkle log in this form, so any verifier can recompute them.
 */
export function canonicalJson(value: unknown): string {
  return stringifiesCanonically(value) ? JSON.stringify(value) : canonicalize(value);
}

/**
 * Whether JSON.stringify writes `value` exactly as RFC 8785 does: plain objects whose members are
 * already in sorted order, finite numbers, and nothing JSON.stringify would drop, call or turn into
 * null differently. Then the native serializer does the work (most of the log's records arrive in
 * order: contracts list their fields sorted, and zod returns them in its schema's order).
 */
function stringifiesCanonically(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          // An array hole or undefined item is null in both forms.
          if (item !== undefined && !stringifiesCanonically(item)) return false;
        }
        return true;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const object = value as Record<string, unknown>;
      if (typeof object.toJSON === 'function') return false;
      // Object.keys lists what JSON.stringify writes, in its order.
      const keys = Object.keys(object);
      for (let i = 0; i < keys.length; i += 1) {
        const key = keys[i]!;
        // The same comparison as the default sort: UTF-16 code units.
        if (i > 0 && !(keys[i - 1]! < key)) return false;
        const member = object[key];
        if (member !== undefined && !stringifiesCanonically(member)) return false;
      }
      return true;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      return false;
  }
}

function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('RFC 8785 has no representation for NaN or Infinity');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      // Written as loops over one growing string: the audit log canonicalizes every record it appends.
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          out += (i === 0 ? '' : ',') + canonicalJson(item === undefined ? null : item);
        }
        return `${out}]`;
      }
      const object = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, the order RFC 8785 section 3.2.3 asks for.
      const keys = Object.keys(object).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = object[key];
        if (member === undefined) continue;
        out += (first ? '' : ',') + quotedKey(key) + ':' + canonicalJson(member);
        first = false;
      }
      return `${out}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  throw new TypeError(`cannot canonicalize a value of type ${typeof value}`);
}

/** Member names repeat from record to record: their JSON form is kept (a bounded number of them). */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}
