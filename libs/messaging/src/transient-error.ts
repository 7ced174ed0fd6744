import { TraceoError } from '@traceo/contracts';

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// PostgreSQL SQLSTATE classes 08 (connection), 53 (resources), 57P (operator intervention), 40001/40P01 (retry).
const TRANSIENT_SQLSTATE = /^(08|53|57P|40001|40P01)/;

/**
 * An infrastructure failure that retrying the same message can cure. A consumer never dead-letters
 * a message for one of these: it stops and retries, so a database outage cannot empty a topic into
 * the dead-letter queue.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof TraceoError) return error.retryable;
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return /Connection terminated|timeout exceeded/i.test(String((error as Error).message));
  return TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLSTATE.test(code);
}

export function errorCodeOf(error: unknown): string {
  return error instanceof TraceoError ? error.code : 'CONSUMER.HANDLER_FAILED';
}
