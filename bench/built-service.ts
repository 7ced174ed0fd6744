// Shared by the benches that start a real built service (bench/auth, bench/encryption).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@traceo/testing';

/**
 * Builds `apps/<app>` with tools/build.mjs and answers its main.js. `worktree`: the working tree into
 * dist/ (as the e2e tests do); `head`: the last commit only, in a scratch copy, so figures do not
 * depend on uncommitted work in a shared tree.
 */
export function buildServiceMain(app: string, from: 'worktree' | 'head'): string {
  let root = WORKSPACE_ROOT;
  if (from === 'head') {
    root = mkdtempSync(join(tmpdir(), `bench-${app}-head-`));
    run('sh', ['-c', `git archive HEAD | tar -x -C '${root}'`], WORKSPACE_ROOT);
    symlinkSync(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'));
  }
  run(process.execPath, [join(root, 'tools', 'build.mjs'), `apps/${app}`], root);
  return join(root, 'dist', 'apps', app, 'main.js');
}

function run(command: string, args: string[], cwd: string): void {
  const done = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (done.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${done.stdout}${done.stderr}`);
}
