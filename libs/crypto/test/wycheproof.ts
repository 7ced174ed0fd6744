import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Project Wycheproof vectors, read in place: CI clones the repo with shared/ beside it.
export const WYCHEPROOF_DIR = join(__dirname, '../../../../shared/test-vectors/wycheproof');

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofCase {
  /** `<file> #<tcId> <comment>`, for test names. */
  name: string;
  tcId: number;
  comment: string;
  flags: string[];
  result: WycheproofResult;
  group: Record<string, unknown>;
  fields: Record<string, unknown>;
}

/**
 * Every test of a Wycheproof file, each with its group's parameters. A missing file, a file without
 * groups, or one that yields no cases throws, so the suite fails instead of passing vacuously.
 */
export function loadWycheproof(file: string): WycheproofCase[] {
  const path = join(WYCHEPROOF_DIR, file);
  if (!existsSync(path)) throw new Error(`Wycheproof vectors not found at ${path}: clone shared/ beside the repository`);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { testGroups?: unknown };
  if (!Array.isArray(parsed.testGroups) || parsed.testGroups.length === 0) throw new Error(`${file} has no testGroups`);
  const cases = (parsed.testGroups as Record<string, unknown>[]).flatMap(({ tests, ...group }) => {
    if (!Array.isArray(tests)) throw new Error(`${file}: a test group has no tests array`);
    return (tests as Record<string, unknown>[]).map((test): WycheproofCase => {
      const { tcId, comment, flags, result } = test;
      if (typeof tcId !== 'number') throw new Error(`${file}: a test has no numeric tcId`);
      if (result !== 'valid' && result !== 'invalid' && result !== 'acceptable') throw new Error(`${file} #${tcId}: unknown result`);
      const text = typeof comment === 'string' ? comment : '';
      return {
        name: `${file} #${tcId}${text ? ` ${text}` : ''}`,
        tcId,
        comment: text,
        flags: Array.isArray(flags) ? flags.map(String) : [],
        result,
        group,
        fields: test,
      };
    });
  });
  if (cases.length === 0) throw new Error(`${file} yields no test cases`);
  return cases;
}

export function hexField(test: WycheproofCase, field: string): Buffer {
  const value = test.fields[field];
  if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/i.test(value)) throw new Error(`${test.name}: ${field} is not hex`);
  return Buffer.from(value, 'hex');
}

/** Several hex fields at once, as a typed tuple. */
export function hexFields<const Fields extends readonly string[]>(
  test: WycheproofCase,
  ...fields: Fields
): { [K in keyof Fields]: Buffer } {
  return fields.map((field) => hexField(test, field)) as { [K in keyof Fields]: Buffer };
}

export function hasField(test: WycheproofCase, field: string): boolean {
  return typeof test.fields[field] === 'string';
}

export function numberField(record: Record<string, unknown>, field: string): number {
  const value = record[field];
  if (typeof value !== 'number') throw new Error(`${field} is not a number`);
  return value;
}

/** Counts what a vector file ran (by expected result) and skipped, and prints `wycheproof <file>: N run (valid/invalid/acceptable), M skipped (reasons)`. */
export class VectorTally {
  private ran = 0;
  private readonly byResult = { valid: 0, invalid: 0, acceptable: 0 };
  private readonly skips = new Map<string, number>();
  private readonly notes: string[] = [];

  constructor(
    private readonly file: string,
    private readonly total: number,
  ) {}

  /** Counts a case that ran, by its expected result. */
  run(result: WycheproofResult): void {
    this.ran++;
    this.byResult[result]++;
  }

  skip(reason: string): void {
    this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Every loaded case was either run or skipped with a reason, and at least one ran. */
  get complete(): boolean {
    return this.ran > 0 && this.ran + this.skipped === this.total;
  }

  print(): void {
    const reasons = [...this.skips].map(([reason, count]) => `${count} ${reason}`).join('; ');
    const notes = this.notes.length > 0 ? ` — ${this.notes.join('; ')}` : '';
    const { valid, invalid, acceptable } = this.byResult;
    console.log(
      `wycheproof ${this.file}: ${this.ran} run (${valid} valid, ${invalid} invalid, ${acceptable} acceptable), ${this.skipped} skipped${reasons ? ` (${reasons})` : ''}${notes}`,
    );
  }

  private get skipped(): number {
    return [...this.skips.values()].reduce((sum, count) => sum + count, 0);
  }
}

export function thrownBy(operation: () => unknown): unknown {
  try {
    operation();
  } catch (error) {
    return error;
  }
  return undefined;
}
