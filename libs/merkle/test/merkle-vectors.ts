import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// transparency-dev/merkle testdata, read in place: CI clones the repo with shared/ beside it.
export const VECTOR_ROOT = join(__dirname, '../../../../shared/test-vectors/merkle/testdata');

export interface InclusionVector {
  name: string;
  leafIdx: number | bigint;
  treeSize: number | bigint;
  root: Buffer;
  leafHash: Buffer;
  proof: Buffer[];
  desc: string;
  wantErr: boolean;
}

export interface ConsistencyVector {
  name: string;
  size1: number | bigint;
  size2: number | bigint;
  root1: Buffer;
  root2: Buffer;
  proof: Buffer[];
  desc: string;
  wantErr: boolean;
}

export function loadInclusionVectors(): InclusionVector[] {
  return load('inclusion', (raw, name) => ({
    name,
    leafIdx: integer(raw, 'leafIdx'),
    treeSize: integer(raw, 'treeSize'),
    root: base64(raw, 'root'),
    leafHash: base64(raw, 'leafHash'),
    proof: proof(raw),
    desc: text(raw, 'desc'),
    wantErr: flag(raw, 'wantErr'),
  }));
}

export function loadConsistencyVectors(): ConsistencyVector[] {
  return load('consistency', (raw, name) => ({
    name,
    size1: integer(raw, 'size1'),
    size2: integer(raw, 'size2'),
    root1: base64(raw, 'root1'),
    root2: base64(raw, 'root2'),
    proof: proof(raw),
    desc: text(raw, 'desc'),
    wantErr: flag(raw, 'wantErr'),
  }));
}

type RawVector = Record<string, unknown>;

/** Every *.json under testdata/<kind>, sorted; a missing directory or an empty one is an error, never a silent pass. */
function load<T>(kind: 'inclusion' | 'consistency', parse: (raw: RawVector, name: string) => T): T[] {
  const dir = join(VECTOR_ROOT, kind);
  if (!existsSync(dir)) throw new Error(`Merkle test vectors not found at ${dir}: clone shared/ beside the repository`);
  const files = walk(dir).sort();
  if (files.length === 0) throw new Error(`no Merkle ${kind} vectors under ${dir}`);
  return files.map((file) => {
    const name = relative(VECTOR_ROOT, file);
    try {
      return parse(parseLossless(readFileSync(file, 'utf8')), name);
    } catch (error) {
      throw new Error(`malformed vector ${name}: ${(error as Error).message}`, { cause: error });
    }
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.json') ? [path] : [];
  });
}

// Indices are Go uint64s: "leafIdx - 1" at 0 wraps to 2^64 - 1, which a double would round. Such
// numbers are rebuilt from their source text as bigints.
function parseLossless(text: string): RawVector {
  const parsed: unknown = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined ? BigInt(context.source) : value,
  );
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  return parsed as RawVector;
}

function integer(raw: RawVector, field: string): number | bigint {
  const value = raw[field];
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) return value;
  throw new Error(`${field} is not an integer`);
}

function base64(raw: RawVector, field: string): Buffer {
  const value = raw[field];
  if (typeof value !== 'string') throw new Error(`${field} is not a string`);
  return strictBase64(value, field);
}

// Go's encoding/json decodes []byte as standard base64 and a null slice as empty.
function proof(raw: RawVector): Buffer[] {
  const value = raw['proof'];
  if (value === null) return [];
  if (!Array.isArray(value)) throw new Error('proof is neither an array nor null');
  return value.map((element: unknown, i) => {
    if (typeof element !== 'string') throw new Error(`proof[${i}] is not a string`);
    return strictBase64(element, `proof[${i}]`);
  });
}

function strictBase64(value: string, field: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw new Error(`${field} is not canonical base64`);
  return bytes;
}

function text(raw: RawVector, field: string): string {
  const value = raw[field];
  if (typeof value !== 'string') throw new Error(`${field} is not a string`);
  return value;
}

function flag(raw: RawVector, field: string): boolean {
  const value = raw[field];
  if (typeof value !== 'boolean') throw new Error(`${field} is not a boolean`);
  return value;
}
