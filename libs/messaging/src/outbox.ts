import { encodeEvent, type TypedEvent } from '@traceo/contracts';
import { runPrepared } from '@traceo/persistence';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/**
 * Writes events to the outbox inside the caller's transaction, so they are published if and only
 * if the business change commits. Events are keyed by tenant (or by subject when the producer
 * needs order per subject).
 */
export async function appendToOutbox(
  manager: EntityManager,
  events: readonly TypedEvent[],
  keyOf: (event: TypedEvent) => string = (event) => event.tenantid,
): Promise<void> {
  if (events.length === 0) return;
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) {
    throw new Error('appendToOutbox must run inside the transaction that makes the business change');
  }
  await insertIntoOutbox(runner, events, keyOf);
}

/**
 * Writes events that belong to no business change (e.g. the audit record of an HTTP request) to the
 * outbox in one INSERT statement: atomic on its own, all the events or none, without the two extra
 * round trips of an explicit transaction.
 */
export async function writeToOutbox(
  database: DataSource,
  events: readonly TypedEvent[],
  keyOf: (event: TypedEvent) => string = (event) => event.tenantid,
): Promise<void> {
  if (events.length === 0) return;
  await insertIntoOutbox(database, events, keyOf);
}

/**
 * Writes events to the outbox in the same statement as a change they describe, and only if that
 * change happened: `condition` (e.g. an `UPDATE … RETURNING`, whose parameters are numbered from $5)
 * runs as a CTE of the INSERT, and the events are inserted exactly when it returns a row. One
 * statement, atomic on its own: the change and its events commit together, or neither does. Answers
 * whether the condition matched. `condition` must be constant text (it names a prepared statement).
 */
export async function writeToOutboxIf(
  database: DataSource,
  condition: string,
  conditionParams: readonly unknown[],
  events: readonly TypedEvent[],
  keyOf: (event: TypedEvent) => string = (event) => event.tenantid,
): Promise<boolean> {
  let text = conditionalInserts.get(condition);
  if (text === undefined) {
    text = `WITH matched AS (${condition}),
     written AS (${INSERT} WHERE EXISTS (SELECT 1 FROM matched) RETURNING 1)
   SELECT EXISTS (SELECT 1 FROM matched) AS matched`;
    conditionalInserts.set(condition, text);
  }
  const { rows } = await runPrepared<{ matched: boolean }>(database, text, [...outboxColumns(events, keyOf), ...conditionParams]);
  return rows[0]?.matched === true;
}

/** writeToOutboxIf's statement per condition, built once (conditions are constant texts). */
const conditionalInserts = new Map<string, string>();

const INSERT = `INSERT INTO outbox (event_id, topic, message_key, payload)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`;

/** One prepared statement, however many events: every service writes its outbox on every request. */
async function insertIntoOutbox(
  on: DataSource | QueryRunner,
  events: readonly TypedEvent[],
  keyOf: (event: TypedEvent) => string,
): Promise<void> {
  await runPrepared(on, INSERT, outboxColumns(events, keyOf));
}

function outboxColumns(events: readonly TypedEvent[], keyOf: (event: TypedEvent) => string): string[][] {
  return [events.map((e) => e.id), events.map((e) => e.type), events.map(keyOf), events.map((e) => encodeEvent(e).toString('utf8'))];
}
