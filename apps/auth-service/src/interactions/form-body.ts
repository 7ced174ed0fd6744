import type { Request } from 'express';

export class FormBodyError extends Error {
  constructor(readonly status: 400 | 413 | 415) {
    super(status === 413 ? 'form too large' : status === 415 ? 'not a form' : 'malformed form');
  }
}

/** Past this, an oversized body is no longer read to the end before answering: the connection is dropped. */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes (forms here are tiny).
 * An oversized body is read and discarded up to 1 MiB so the client sees the 413 rather than a reset.
 */
export async function readForm(req: Request, limit = 8192): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded(\s*;.*)?$/i.test(type)) throw new FormBodyError(415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DRAIN_LIMIT) break;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw new FormBodyError(413);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new FormBodyError(400);
  return new URLSearchParams(text);
}
