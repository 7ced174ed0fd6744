// Shared by the benches that start a real built service (bench/auth, bench/encryption, bench/audit).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadInfraEnv, withClient, WORKSPACE_ROOT } from '@traceo/testing';
import { dropBenchTopics } from './kafka-namespace';

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

/** The first port from `from` up to 4499 nobody listens on (benches that take a --port to start from). */
export async function freePortFrom(from: number): Promise<number> {
  for (let port = from; port <= 4499; port += 1) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}..4499`);
}

export interface BuiltServiceOptions {
  /** In messages: `auth-service`, `encryption-service`. */
  readonly name: string;
  readonly main: string;
  readonly port: number;
  /** The service's configuration; this process's own TRACEO_* variables are not passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** The log goes to `<tmpdir>/<logDirPrefix>XXXXXX/<logFileName>`, not through a pipe to the bench. */
  readonly logDirPrefix: string;
  readonly logFileName?: string;
  /** Writes a V8 CPU profile of the service (node --cpu-prof) into this directory on exit. */
  readonly cpuProfileDir?: string;
  /** Dropped by stop() (unless told otherwise) and when the service does not get ready. */
  readonly schema?: string;
  /**
   * The run's Kafka namespace (bench/kafka-namespace.ts), whose topics stop() deletes. Like `schema`,
   * only the service that owns it passes it; TRACEO_KAFKA_NAMESPACE itself goes in `env`.
   */
  readonly kafkaNamespace?: string;
}

export interface BuiltService {
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  log(): string;
  /** SIGTERM (the service drains its outbox and closes), SIGKILL after 20 s, then drops the schema. */
  stop(options?: { dropSchema?: boolean }): Promise<void>;
  /** The CPU profile written at exit, when asked for. */
  cpuProfile(): string | undefined;
}

/** Starts a built service as its own Node process and waits (up to 90 s) until /health/ready answers 200. */
export async function startBuiltService(options: BuiltServiceOptions): Promise<BuiltService> {
  const logFile = join(mkdtempSync(join(tmpdir(), options.logDirPrefix)), options.logFileName ?? 'service.log');
  const out = openSync(logFile, 'a');
  const flags = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TRACEO_')));
  const child = spawn(process.execPath, [...flags, options.main], {
    cwd: WORKSPACE_ROOT,
    // A build outside the workspace finds its third-party packages through NODE_PATH.
    env: { ...inherited, NODE_PATH: join(WORKSPACE_ROOT, 'node_modules'), ...options.env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const log = () => readFileSync(logFile, 'utf8');
  const service: BuiltService = {
    pid: child.pid!,
    url,
    logFile,
    log,
    async stop({ dropSchema = true } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const { schema, kafkaNamespace } = options;
      if (schema && dropSchema)
        await withClient(loadInfraEnv().databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      if (kafkaNamespace) await dropBenchTopics(kafkaNamespace);
    },
    cpuProfile() {
      const dir = options.cpuProfileDir;
      if (!dir) return undefined;
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${child.pid}.`));
      return file && join(dir, file);
    },
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited early:\n${log().slice(-3000)}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return service;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await service.stop();
  throw new Error(`${options.name} not ready after 90 s:\n${log().slice(-3000)}`);
}
