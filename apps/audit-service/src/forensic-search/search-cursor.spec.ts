import { randomBytes } from 'node:crypto';
import { parseCursorPayload, SearchCursorCodec, type SearchCursor } from './search-cursor';

const cursor: SearchCursor = { occurredAt: '2026-11-24T12:00:00.123456Z', tenantId: 'acme', leafIndex: 41 };

describe('search cursor', () => {
  const codec = new SearchCursorCodec(randomBytes(32));
  const valid = codec.encode(cursor);
  const invalidCursor = expect.objectContaining({ code: 'AUDIT.INVALID_CURSOR', status: 400 });

  it('is opaque base64url and decodes back to the same position', () => {
    expect(valid).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(valid, 'acme')).toEqual(cursor);
  });

  it('keeps microseconds, so records in the same millisecond are neither skipped nor repeated', () => {
    const text = codec.encode({ ...cursor, occurredAt: '2026-11-24T12:00:00.123999Z' });
    expect(codec.decode(text, 'acme').occurredAt).toBe('2026-11-24T12:00:00.123999Z');
  });

  it('decodes with a codec built from the same secret (another replica, after a restart)', () => {
    const secret = randomBytes(32);
    expect(new SearchCursorCodec(secret).decode(new SearchCursorCodec(secret).encode(cursor), 'acme')).toEqual(cursor);
  });

  it("refuses another tenant's cursor", () => {
    expect(() => codec.decode(valid, 'globex')).toThrow(
      expect.objectContaining({ code: 'AUDIT.INVALID_CURSOR', message: 'the cursor belongs to a search of another tenant' }),
    );
  });

  it('refuses every single-character edit of a valid cursor', () => {
    for (let i = 0; i < valid.length; i += 1) {
      const edited = `${valid.slice(0, i)}${valid[i] === 'A' ? 'B' : 'A'}${valid.slice(i + 1)}`;
      expect(() => codec.decode(edited, 'acme')).toThrow(invalidCursor);
    }
  });

  it('refuses a cursor whose position was re-encoded without the key', () => {
    const bytes = Buffer.from(valid, 'base64url');
    const forged = Buffer.concat([bytes.subarray(0, 16), Buffer.from('["2026-11-24T12:00:00.123456Z","acme",1]')]);
    expect(() => codec.decode(forged.toString('base64url'), 'acme')).toThrow(invalidCursor);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/=='],
    ['too long', 'A'.repeat(513)],
    ['shorter than a tag', Buffer.alloc(16).toString('base64url')],
    ['issued under another key', new SearchCursorCodec(randomBytes(32)).encode(cursor)],
    ['a truncated tail', valid.slice(0, -2)],
    ['an appended character', `${valid}A`],
  ])('refuses %s with AUDIT.INVALID_CURSOR', (_what, text) => {
    expect(() => codec.decode(text, 'acme')).toThrow(invalidCursor);
  });
});

describe('search cursor payload', () => {
  it('reads the position array', () => {
    expect(parseCursorPayload('["2026-11-24T12:00:00.123456Z","acme",41]')).toEqual(cursor);
  });

  it.each([
    ['not JSON', '["2026-11-24T12:00:00.123456Z",'],
    ['an object instead of the array', JSON.stringify(cursor)],
    ['a missing field', '["2026-11-24T12:00:00.123456Z","acme"]'],
    ['an extra field', '["2026-11-24T12:00:00.123456Z","acme",41,1]'],
    ['a negative index', '["2026-11-24T12:00:00.123456Z","acme",-1]'],
    ['a fractional index', '["2026-11-24T12:00:00.123456Z","acme",1.5]'],
    ['an index as a string', '["2026-11-24T12:00:00.123456Z","acme","41"]'],
    ['a time without microseconds', '["2026-11-24T12:00:00.123Z","acme",41]'],
    ['a time with an offset', '["2026-11-24T12:00:00.123456+01:00","acme",41]'],
    ['a day that does not exist', '["2026-02-30T12:00:00.123456Z","acme",41]'],
    ['an hour that does not exist', '["2026-11-24T24:00:00.123456Z","acme",41]'],
    ['SQL in the time', `["2026-11-24T12:00:00.123456Z' OR '1'='1","acme",41]`],
    ['an invalid tenant', '["2026-11-24T12:00:00.123456Z","ACME; --",41]'],
    ['whitespace in the JSON', '["2026-11-24T12:00:00.123456Z", "acme", 41]'],
  ])('refuses %s', (_what, text) => {
    expect(parseCursorPayload(text)).toBeUndefined();
  });
});
