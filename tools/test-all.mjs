#!/usr/bin/env node
// The whole test suite (`npm test`): real infrastructure up, then format, lint, typecheck and unit
// tests for every project, then the builds and the integration and end-to-end tests one project at
// a time. Ends with one line "N passed, N failed" summed over every Jest run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const summaryDir = mkdtempSync(join(tmpdir(), 'traceo-tests-'));
const env = {
  ...process.env,
  PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`,
  TRACEO_TEST_SUMMARY_DIR: summaryDir,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: '0',
};
const started = Date.now();
const steps = [];

function step(name, command, args) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const ok = result.status === 0;
  steps.push({ name, ok, seconds: ((Date.now() - t0) / 1000).toFixed(1) });
  return ok;
}

let ok = step('infrastructure', 'bash', ['tools/infra', 'up']);
if (ok) {
  env.TRACEO_INFRA_READY = '1';
  ok = step('format', 'prettier', ['--check', '.']) && ok;
  ok = step('docker-compose.yml and Dockerfile', 'node', ['tools/compose/check-compose.mjs']) && ok;
  ok = step('Kong gateway configuration (decK, Kong rules, plugin schema)', 'node', ['--test', 'tools/kong/validate.test.mjs']) && ok;
  ok =
    step('lint, typecheck, unit tests', 'nx', [
      'run-many',
      '-t',
      'lint',
      'typecheck',
      'test',
      '--parallel=2',
      '--skip-nx-cache',
      '--outputStyle=stream',
    ]) && ok;
  ok =
    step('build, integration and end-to-end tests', 'nx', [
      'run-many',
      '-t',
      'test:integration',
      '--parallel=1',
      '--skip-nx-cache',
      '--outputStyle=stream',
    ]) && ok;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of readdirSync(summaryDir)) {
  const summary = JSON.parse(readFileSync(join(summaryDir, file), 'utf8'));
  passed += summary.passed;
  failed += summary.failed;
  skipped += summary.skipped;
}
rmSync(summaryDir, { recursive: true, force: true });
if (!ok && failed === 0) failed = 1; // a step failed outside Jest (infra, format, lint, typecheck, build)

console.log('\n=== summary');
for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.seconds} s)`);
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
