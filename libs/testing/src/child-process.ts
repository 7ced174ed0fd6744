import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from './infra-env';

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Resolves when the process prints `ready` on a line of its own. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a TypeScript file in a child Node process (compiled on the fly by @swc-node/register), with `args` after it. */
export function startTsProcess(file: string, env: Record<string, string | undefined> = {}, args: readonly string[] = []): RunningProcess {
  return startProcess([process.execPath, '-r', '@swc-node/register', file, ...args], {
    SWC_NODE_PROJECT: join(WORKSPACE_ROOT, 'tsconfig.base.json'),
    ...env,
  });
}

/** Starts a command with `env` laid over this process's environment; an undefined value removes the variable. */
export function startProcess(
  command: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd = WORKSPACE_ROOT,
): RunningProcess {
  const [bin, ...args] = command;
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) merged[key] = value;
  const child = spawn(bin!, args, { cwd, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (/(^|\n)ready\n/.test(output)) markReady();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const readyOrExit = Promise.race([
    ready,
    exited.then(({ code, signal }) => {
      throw new Error(`${command.join(' ')} exited (${code ?? signal}) before it was ready:\n${output.slice(-4000)}`);
    }),
  ]);
  readyOrExit.catch(() => undefined); // a test that only awaits `exited` must not see an unhandled rejection
  return {
    child,
    ready: readyOrExit,
    exited,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
