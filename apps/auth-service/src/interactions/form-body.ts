import type { Request } from 'express';

export class FormBodyError extends Error {
  constructor(readonly status: 400 | 413 | 415) {
    super(status === 413 ? 'form too large' : status === 415 ? 'not a form' : 'malformed form');
  }
}

/** Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes (forms here are tiny). */
export async function readForm(req: Request, limit = 8192): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded(\s*;.*)?$/i.test(type)) throw new FormBodyError(415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new FormBodyError(413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new FormBodyError(400);
  return new URLSearchParams(text);
}
