import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { InvalidCursorError } from './forensic-search.errors';
import { TENANT_ID } from './forensic-search.query';

/**
 * Position after the last record of a page in the search order (occurred_at DESC, tenant_id,
 * leaf_index DESC). occurredAt is PostgreSQL's microsecond value in UTC, not a JavaScript Date:
 * milliseconds would skip or repeat records that share a millisecond.
 */
export interface SearchCursor {
  readonly occurredAt: string;
  readonly tenantId: string;
  readonly leafIndex: number;
}

const OCCURRED_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
const TAG_BYTES = 16;
const MAX_CURSOR_LENGTH = 512;

function isRealInstant(text: string): boolean {
  const parts = OCCURRED_AT.exec(text)?.slice(1).map(Number);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  );
}

const cursorPayload = z.tuple([
  z.string().refine(isRealInstant),
  z.string().regex(TENANT_ID),
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
]);

const payloadText = (cursor: SearchCursor) => JSON.stringify([cursor.occurredAt, cursor.tenantId, cursor.leafIndex]);

/** The position in a cursor's payload, the JSON array [occurredAt, tenantId, leafIndex]; undefined unless it is exactly that. */
export function parseCursorPayload(text: string): SearchCursor | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = cursorPayload.safeParse(json);
  if (!parsed.success) return undefined;
  const [occurredAt, tenantId, leafIndex] = parsed.data;
  const cursor: SearchCursor = { occurredAt, tenantId, leafIndex };
  return payloadText(cursor) === text ? cursor : undefined;
}

/**
 * Page cursors: base64url of a 16-byte HMAC-SHA-256 tag followed by the position's JSON. The tag
 * makes them opaque for real: a client cannot craft or edit a position, only hand back one it was
 * given. The key is derived (HKDF, own label) from secret material the service already has.
 */
export class SearchCursorCodec {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'traceo.audit.search-cursor.v1', 32));
  }

  encode(cursor: SearchCursor): string {
    const body = Buffer.from(payloadText(cursor), 'utf8');
    return Buffer.concat([this.tag(body), body]).toString('base64url');
  }

  /** The position of a cursor this service issued for a search of `tenantId`; AUDIT.INVALID_CURSOR otherwise. */
  decode(text: string, tenantId: string): SearchCursor {
    const invalid = new InvalidCursorError('the cursor is malformed or was altered; start again without one');
    if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid;
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length <= TAG_BYTES || bytes.toString('base64url') !== text) throw invalid;
    const body = bytes.subarray(TAG_BYTES);
    if (!timingSafeEqual(bytes.subarray(0, TAG_BYTES), this.tag(body))) throw invalid;
    const cursor = parseCursorPayload(body.toString('utf8'));
    if (!cursor) throw invalid;
    if (cursor.tenantId !== tenantId) throw new InvalidCursorError('the cursor belongs to a search of another tenant');
    return cursor;
  }

  private tag(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, TAG_BYTES);
  }
}
