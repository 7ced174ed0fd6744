// bench/auth — the token endpoint of the real auth-service (built by tools/build.mjs, its own process,
// real PostgreSQL, Kafka and SoftHSM2, scratch schema dropped at the end) under N concurrent
// keep-alive HTTP clients: client_credentials grants, and refresh_token grants where each request
// presents the refresh token the previous answer of its chain returned (rotation included; the chains
// start from code + PKCE sign-ins). Beside them, in the same run and rounds interleaved, a bare
// node:http server signing one ES256 JWT with jose per request (the floor). Then JWT verification:
// the shared guard's TokenVerifier (and AuthGuard.canActivate) vs raw jose.jwtVerify with the same
// public key, on access tokens the service issued, every token new and tokens reused. Not a test.
//
// With --replicas N the service runs as N processes on the same schema and issuer (as replicas behind a
// load balancer do) and the clients are spread over them; CPU columns add the replicas up.
//
// The service reaches PostgreSQL over TCP, as a deployed service does (here loopback, whose network-stack
// cost lands on the same two cores), or with --database socket over its Unix socket.
//
//   npm run bench:auth -- [--seconds 5] [--rounds 3] [--concurrency 16,32] [--replicas 1] [--database tcp|socket] [--profile] [--worktree]
import { execFileSync, fork } from 'node:child_process';
import { KeyObject, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reflector } from '@nestjs/core';
import { AuthGuard, parseApiKeys, TokenVerifier, verifyJwsSignature } from '@traceo/security';
import { freePort, WORKSPACE_ROOT } from '@traceo/testing';
import { importJWK, jwtVerify, type CryptoKey, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { signIn } from '../../apps/auth-service/test/flows';
import { coresUsed, cpuSnapshot, formatCores, type CpuSnapshot } from '../encryption/cpu';
import { basicCredentials, runLoad, TokenClient, type LoadResult, type TokenAnswer } from './http-load';
import { BENCH_RATE_LIMIT_RULES, buildAuthService, startAuthService, type BenchAuthService } from './service-process';
import { adminClients, benchTenant, registerAppAndUser } from './tenant';
import { contextFor, verificationsPerSecond } from './verify-load';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const SECONDS = Number(args.get('seconds') ?? 5);
const ROUNDS = Number(args.get('rounds') ?? 3);
/** Each concurrency is measured in every round. */
const CONCURRENCIES = (args.get('concurrency') ?? '16,32').split(',').map(Number);
const MAX_CONCURRENCY = Math.max(...CONCURRENCIES);
const PROFILE = process.argv.includes('--profile');
const BUILD_FROM = process.argv.includes('--worktree') ? 'worktree' : 'head';
const REPLICAS = Number(args.get('replicas') ?? 1);
const DATABASE = databaseTransport(args.get('database') ?? 'tcp');
const VERIFY_SECONDS = 1.5;
const VERIFY_TOKENS = 2000;
/** Cores used by processes outside the measurement above which a line is marked disturbed. */
const NOISY_CORES = 0.25;

const RUN = randomBytes(3).toString('hex');
const TENANT = benchTenant(RUN);
const APP = TENANT.app;

function databaseTransport(value: string): 'socket' | 'tcp' {
  if (value !== 'socket' && value !== 'tcp') throw new Error('--database must be socket or tcp');
  return value;
}

function commit(): string {
  return execFileSync('git', ['log', '-1', '--format=%h %cI'], { cwd: WORKSPACE_ROOT, encoding: 'utf8' }).trim();
}

interface Line {
  readonly what: string;
  readonly result: LoadResult;
  readonly cpu: string;
  /** CPU milliseconds per answered request of the measured server, and of PostgreSQL: less sensitive to other work than requests/s. */
  readonly serverMsPerRequest: number;
  readonly postgresMsPerRequest: number;
  readonly load: string;
  readonly disturbed: string;
}

async function measured(what: string, servicePids: number | readonly number[], load: () => Promise<LoadResult>): Promise<Line> {
  const before: CpuSnapshot = cpuSnapshot(servicePids);
  const result = await load();
  const cores = coresUsed(before, cpuSnapshot(servicePids));
  const other = cores.get('other') ?? 0;
  const perRequest = (cores: number) => (result.ok > 0 ? (cores * 1000) / result.perSecond : Number.NaN);
  return {
    what,
    result,
    cpu: formatCores(cores),
    serverMsPerRequest: perRequest(cores.get('service') ?? 0),
    postgresMsPerRequest: perRequest(cores.get('postgres') ?? 0),
    load: loadavg()[0]!.toFixed(1),
    disturbed: other > NOISY_CORES ? `DISTURBED (other processes ${other.toFixed(2)} cores)` : '',
  };
}

async function startBaseline(): Promise<{ pid: number; url: string; stop: () => void }> {
  const port = await freePort();
  const child = fork(join(__dirname, 'baseline-server.ts'), [String(port)], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, SWC_NODE_PROJECT: 'tsconfig.base.json' },
    cwd: WORKSPACE_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return { pid: child.pid!, url: `http://127.0.0.1:${port}/token`, stop: () => child.kill('SIGTERM') };
}

/** One refresh token per chain, each from its own code + PKCE sign-in (its own grant). */
async function initialRefreshTokens(auth: BenchAuthService, count: number): Promise<string[]> {
  const config = await oidc.discovery(new URL(auth.issuer), APP.id, APP.secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const tokens: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const signedIn = await signIn(
      config,
      auth.origin,
      { ...TENANT.user },
      { redirectUri: TENANT.redirect, scope: 'openid offline_access api' },
    );
    const granted = await oidc.authorizationCodeGrant(config, signedIn.callback, {
      pkceCodeVerifier: signedIn.verifier,
      expectedState: signedIn.state,
      expectedNonce: signedIn.nonce,
    });
    if (!granted.refresh_token) throw new Error('the code grant returned no refresh token');
    tokens.push(granted.refresh_token);
  }
  return tokens;
}

const SIGNATURE_ONLY = 'signature only: WebCrypto ECDSA P-256 verify';
const SIGNATURE_ONLY_NODE = 'signature only: node:crypto verify, DER, thread pool';

/**
 * Checks each token's ES256 signature over its signing input, nothing else (split once, up front):
 * with WebCrypto (what jose does), or with node:crypto's callback `verify` given the DER form (what
 * TokenVerifier does, through verifyJwsSignature).
 */
function signatureOnly(key: CryptoKey, tokens: readonly string[], via: 'webcrypto' | 'node'): (token: string) => Promise<unknown> {
  const keyObject = KeyObject.from(key);
  const parts = new Map(
    tokens.map((token) => {
      const last = token.lastIndexOf('.');
      return [token, { input: Buffer.from(token.slice(0, last)), signature: Buffer.from(token.slice(last + 1), 'base64url') }] as const;
    }),
  );
  return async (token) => {
    const { input, signature } = parts.get(token)!;
    const valid =
      via === 'webcrypto'
        ? await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, input)
        : await verifyJwsSignature('ES256', keyObject, input, signature);
    if (!valid) throw new Error('bad signature');
  };
}

/** TokenVerifier / AuthGuard vs raw jose on the service's own access tokens and JWKS, best of ROUNDS interleaved rounds. */
async function verifyBench(issuer: string, jwks: JSONWebKeySet, tokens: readonly string[]): Promise<string[]> {
  const key = await importJWK(jwks.keys[0]!, 'ES256');
  const rawOptions = { issuer, audience: 'urn:traceo:api', algorithms: ['ES256'], typ: 'at+jwt' };
  const rows: string[] = [];
  for (const [scenario, verifiedCacheSeconds] of [
    ['every token new', 0],
    ['tokens reused', 60],
  ] as const) {
    const verifier = new TokenVerifier({ issuer, audience: 'urn:traceo:api', keys: { jwks }, verifiedCacheSeconds });
    const guard = new AuthGuard(new Reflector(), {
      apiKeys: parseApiKeys('bench:unused-0000000000000000000000000000'),
      tokenVerifier: verifier,
    });
    for (const token of tokens.slice(0, 20)) {
      await jwtVerify(token, key, rawOptions);
      await verifier.verify(token);
      if (!(await guard.canActivate(contextFor(`Bearer ${token}`, TENANT.id)))) throw new Error('the guard refused a service token');
    }
    const paths: [string, (token: string) => Promise<unknown>][] = [
      ['raw jose.jwtVerify (same key)', (token) => jwtVerify(token, key, rawOptions)],
      ['TokenVerifier.verify', (token) => verifier.verify(token)],
      ['AuthGuard.canActivate', (token) => guard.canActivate(contextFor(`Bearer ${token}`, TENANT.id))],
    ];
    // The ceiling for a never-seen token: the ES256 signature check alone, no JWT parsing or claims.
    if (verifiedCacheSeconds === 0)
      paths.push(
        [SIGNATURE_ONLY, signatureOnly(key as CryptoKey, tokens, 'webcrypto')],
        [SIGNATURE_ONLY_NODE, signatureOnly(key as CryptoKey, tokens, 'node')],
      );
    const best = new Map<string, number>();
    const before = cpuSnapshot(undefined);
    for (let round = 0; round < ROUNDS; round += 1)
      for (const [name, verify] of paths)
        best.set(name, Math.max(best.get(name) ?? 0, await verificationsPerSecond(tokens, 32, VERIFY_SECONDS, verify)));
    const other = coresUsed(before, cpuSnapshot(undefined)).get('other') ?? 0;
    const disturbed = other > NOISY_CORES ? ` DISTURBED (other processes ${other.toFixed(2)} cores)` : '';
    const raw = best.get('raw jose.jwtVerify (same key)')!;
    for (const [name, perSecond] of best) {
      const target = name.startsWith('raw ') || name.startsWith('signature only') ? '' : perSecond >= 20_000 ? 'PASS' : 'MISS';
      rows.push(
        `| ${scenario} | ${name} | ${perSecond.toFixed(0)} | ${(perSecond / raw).toFixed(2)} | ${target} | load ${loadavg()[0]!.toFixed(1)}${disturbed} |`,
      );
    }
  }
  return rows;
}

function row(line: Line, target?: number): string {
  const r = line.result;
  const verdict = target === undefined ? '' : r.perSecond >= target ? 'PASS' : 'MISS';
  const failures = r.failed ? ` (${r.failed} failed: ${r.firstFailure})` : '';
  return `| ${line.what} | ${r.perSecond.toFixed(0)}${failures} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${verdict} | ${line.serverMsPerRequest.toFixed(2)} | ${line.postgresMsPerRequest.toFixed(2)} | ${line.cpu} | ${line.load} | ${line.disturbed} |`;
}

async function main(): Promise<void> {
  const main = buildAuthService(BUILD_FROM);
  const cpuProfileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'bench-auth-profile-')) : undefined;
  const clients = adminClients(TENANT);
  const auth = await startAuthService(main, {
    port: await freePort(),
    run: RUN,
    clients,
    database: DATABASE,
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
  });
  // Further replicas start once the first has migrated the schema and created the keys.
  const replicas = [auth];
  for (let n = 1; n < REPLICAS; n += 1)
    replicas.push(
      await startAuthService(main, {
        port: await freePort(),
        run: RUN,
        clients,
        replicaOf: auth.origin,
        database: DATABASE,
        ...(cpuProfileDir ? { cpuProfileDir } : {}),
      }),
    );
  const servicePids = replicas.map((replica) => replica.pid);
  const baseline = await startBaseline();
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    baseline.stop();
    for (const replica of replicas.slice(1)) await replica.stop();
    await auth.stop();
    // The scratch copy a `head` build was made in.
    const scratch = join(main, '..', '..', '..', '..');
    if (BUILD_FROM === 'head' && scratch.startsWith(tmpdir())) rmSync(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping the service and dropping its schema');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    await registerAppAndUser(auth, TENANT, {
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      roles: ['service'],
    });
    const refreshTokens = await initialRefreshTokens(auth, MAX_CONCURRENCY);
    const apps = replicas.map(
      (replica) => new TokenClient(`${replica.origin}/oidc/token`, basicCredentials(APP.id, APP.secret), MAX_CONCURRENCY),
    );
    /** Client `worker`'s replica: round-robin, so a chain stays on one replica. */
    const appFor = (worker: number) => apps[worker % apps.length]!;
    const floor = new TokenClient(
      baseline.url,
      basicCredentials('baseline-client', 'baseline-secret-00000000000000000000'),
      MAX_CONCURRENCY,
    );
    const accessTokens: string[] = [];
    const clientCredentials = async (worker: number): Promise<TokenAnswer> => {
      const answer = await appFor(worker).post({ grant_type: 'client_credentials', scope: 'api' });
      if (answer.status === 200 && accessTokens.length < VERIFY_TOKENS) accessTokens.push(String(answer.body['access_token']));
      return answer;
    };
    const refresh = async (worker: number): Promise<TokenAnswer | 'stop'> => {
      const current = refreshTokens[worker];
      if (!current) return 'stop';
      const answer = await appFor(worker).post({ grant_type: 'refresh_token', refresh_token: current });
      // The next request of this chain presents the rotated token; a refused chain stops.
      refreshTokens[worker] = answer.status === 200 ? String(answer.body['refresh_token']) : '';
      return answer;
    };
    // Warm-up: JIT, connection pools, signing key caches.
    await runLoad(1, MAX_CONCURRENCY, () => floor.post({ grant_type: 'client_credentials' }));
    await runLoad(2, MAX_CONCURRENCY, clientCredentials);
    await runLoad(2, MAX_CONCURRENCY, refresh);
    const lines: string[] = [];
    for (let round = 1; round <= ROUNDS; round += 1)
      for (const n of CONCURRENCIES) {
        const tag = `, ${n} clients${ROUNDS > 1 ? `, round ${round}` : ''}`;
        lines.push(
          row(
            await measured(`baseline: bare node:http + jose ES256 sign${tag}`, baseline.pid, () =>
              runLoad(SECONDS, n, () => floor.post({ grant_type: 'client_credentials' })),
            ),
          ),
          row(await measured(`auth-service client_credentials${tag}`, servicePids, () => runLoad(SECONDS, n, clientCredentials)), 500),
          row(await measured(`auth-service refresh_token (rotating)${tag}`, servicePids, () => runLoad(SECONDS, n, refresh)), 500),
        );
      }
    for (const app of apps) app.close();
    floor.close();
    const jwks = (await (await fetch(`${auth.issuer}/jwks`)).json()) as JSONWebKeySet;
    await cleanup();
    const verifyRows = await verifyBench(auth.issuer, jwks, accessTokens);

    console.log(
      `\nbench/auth on Node ${process.version}, ${availableParallelism()} CPUs, ${new Date().toISOString()}, load average ${loadavg()
        .map((value) => value.toFixed(1))
        .join(' ')}\n` +
        `auth-service built from ${BUILD_FROM === 'head' ? `the last commit (${commit()})` : 'the working tree'} by tools/build.mjs, real PostgreSQL (${DATABASE === 'socket' ? 'over its Unix socket' : 'over loopback TCP'}), Kafka (outbox relay on) and SoftHSM2; ${REPLICAS === 1 ? 'one process' : `${REPLICAS} replicas (processes) on one schema and issuer, clients spread round-robin`}; ` +
        `${CONCURRENCIES.join(' and ')} keep-alive clients (one socket each), ${ROUNDS} interleaved rounds of ${SECONDS}s; client_secret_basic; service defaults otherwise (database pool 10, log level warn); ` +
        `rate limiter ON with the anonymous rule raised to 1,000,000/s per IP (TRACEO_RATE_LIMIT_RULES=${BENCH_RATE_LIMIT_RULES}).\n` +
        `CPU: cores used during the line by the measured server ("service"), PostgreSQL, Kafka, this bench process, and everything else; ` +
        `a line is DISTURBED when everything else used more than ${NOISY_CORES} cores. ` +
        `CPU ms/req = cores used by the server (or PostgreSQL) / requests per second.\n`,
    );
    console.log(
      '| measurement | requests/s | p50 ms | p99 ms | target ≥ 500/s | server CPU ms/req | postgres CPU ms/req | CPU (cores) | load 1m | |',
    );
    console.log('| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | --- |');
    for (const line of lines) console.log(line);
    console.log(
      `\nJWT verification (ES256 access tokens issued by the service above, ${accessTokens.length} distinct, 32 in flight, best of ${ROUNDS} interleaved ${VERIFY_SECONDS}s rounds)\n`,
    );
    console.log('| scenario | path | verifications/s | ratio to raw jose | target ≥ 20,000/s | |');
    console.log('| --- | --- | ---: | ---: | --- | --- |');
    for (const line of verifyRows) console.log(line);
    const profile = auth.cpuProfile();
    if (profile) console.log(`\nauth-service CPU profile: ${profile}`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
