import { Logger } from '@nestjs/common';
import type { Response } from 'express';

/** HTTP trailer sent after the last line: `true` when the export stopped at its cap with records left over. */
export const EXPORT_TRUNCATED_TRAILER = 'Traceo-Export-Truncated';

const logger = new Logger('NdjsonResponse');

/** Resolves true once the chunk is written or drained, false if the client went away. */
function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const settle = (open: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(open);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * Streams pages as NDJSON, one JSON value per line, one page in memory at a time (waits for the
 * client to drain before asking for the next page). The first page is read before anything is sent,
 * so a failure up to there is still an ordinary problem+json response. A failure after that aborts
 * the connection, so a cut-off body can never pass for a complete export.
 */
export async function sendNdjson(
  res: Response,
  pages: AsyncGenerator<readonly unknown[], { truncated: boolean } | undefined>,
  headers: Readonly<Record<string, string>> = {},
): Promise<void> {
  let next = await pages.next();
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Trailer', EXPORT_TRUNCATED_TRAILER);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  // Trailers need a chunked body; flushing now fixes the encoding even when no line follows.
  res.flushHeaders();
  try {
    while (!next.done) {
      if (!(await write(res, next.value.map((item) => `${JSON.stringify(item)}\n`).join('')))) {
        await pages.return(undefined);
        return;
      }
      next = await pages.next();
    }
    res.addTrailers({ [EXPORT_TRUNCATED_TRAILER]: String(next.value?.truncated ?? false) });
    res.end();
  } catch (error) {
    logger.error({ err: error }, 'NDJSON export failed after the response started; connection aborted');
    res.destroy();
  }
}
