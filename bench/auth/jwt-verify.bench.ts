// bench/auth — JWT access-token verification through the shared guard (@traceo/security's
// TokenVerifier, and the whole AuthGuard.canActivate with a permission and tenant check) beside raw
// jose.jwtVerify with the same public key, measured in the same run, rounds interleaved: once with
// every token new (signature checked on every call) and once with clients reusing their tokens (the
// verifier remembers verified tokens). No infrastructure needed. Not a test: nothing is asserted.
//
//   npm run bench:auth:jwt -- [--seconds 1.5] [--rounds 3] [--concurrency 32] [--tokens 2000]
import { availableParallelism, loadavg } from 'node:os';
import { Reflector } from '@nestjs/core';
import { AuthGuard, parseApiKeys, TokenVerifier } from '@traceo/security';
import { TestTokenIssuer, type TestTokenAlgorithm } from '@traceo/testing';
import { jwtVerify } from 'jose';
import { contextFor, verificationsPerSecond } from './verify-load';

const args = new Map(process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1] ?? '']] : [])));
const SECONDS = Number(args.get('seconds') ?? 1.5);
const ROUNDS = Number(args.get('rounds') ?? 3);
const CONCURRENCY = Number(args.get('concurrency') ?? 32);
const TOKENS = Number(args.get('tokens') ?? 2000);

type Scenario = 'every token new' | 'tokens reused';

async function benchAlgorithm(issuer: TestTokenIssuer, alg: TestTokenAlgorithm): Promise<string[]> {
  const tokens = await Promise.all(
    Array.from({ length: TOKENS }, (_, n) =>
      issuer.issue({ sub: `user-${n}`, tenantId: 'acme', roles: ['key-user'], alg, expiresIn: 3600 }),
    ),
  );
  const publicKey = issuer.publicKey(alg);
  const rawOptions = { issuer: issuer.issuer, audience: issuer.audience, algorithms: [alg] };
  const rows: string[] = [];
  // "every token new": the verifier's cache of verified tokens is off, so each call checks a signature
  // (the cost of a first request). "tokens reused": the default verifier, as the service runs it,
  // with TOKENS clients each reusing its token; raw jose has no cache and verifies every time.
  const scenarios: [Scenario, number, readonly number[]][] = [
    ['every token new', 0, [1, CONCURRENCY]],
    ['tokens reused', 60, [CONCURRENCY]],
  ];
  for (const [scenario, verifiedCacheSeconds, concurrencies] of scenarios) {
    const verifier = new TokenVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      keys: { jwks: issuer.jwks() },
      verifiedCacheSeconds,
    });
    const guard = new AuthGuard(new Reflector(), {
      apiKeys: parseApiKeys('bench:not-used-by-this-bench-0000000000000'),
      tokenVerifier: verifier,
    });
    // Every path must accept the tokens before it is timed.
    for (const token of tokens.slice(0, 50)) {
      await jwtVerify(token, publicKey, rawOptions);
      await verifier.verify(token);
      if (!(await guard.canActivate(contextFor(`Bearer ${token}`, 'acme')))) throw new Error('the guard refused a valid token');
    }
    const paths: Record<string, (token: string) => Promise<unknown>> = {
      'raw jose.jwtVerify (same public key)': (token) => jwtVerify(token, publicKey, rawOptions),
      'TokenVerifier.verify': (token) => verifier.verify(token),
      'AuthGuard.canActivate (verify + permission + tenant)': (token) => guard.canActivate(contextFor(`Bearer ${token}`, 'acme')),
    };
    for (const concurrency of concurrencies) {
      const best = new Map<string, number>();
      for (let round = 0; round < ROUNDS; round += 1)
        for (const [name, verify] of Object.entries(paths))
          best.set(name, Math.max(best.get(name) ?? 0, await verificationsPerSecond(tokens, concurrency, SECONDS, verify)));
      const raw = best.get('raw jose.jwtVerify (same public key)')!;
      for (const [name, perSecond] of best)
        rows.push(`| ${alg} | ${scenario} | ${concurrency} | ${name} | ${perSecond.toFixed(0)} | ${(perSecond / raw).toFixed(2)} |`);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const issuer = await TestTokenIssuer.create();
  const rows = [...(await benchAlgorithm(issuer, 'ES256')), ...(await benchAlgorithm(issuer, 'EdDSA'))];
  console.log(
    `\nbench/auth/jwt-verify on Node ${process.version}, ${availableParallelism()} CPUs (load ${loadavg()[0]!.toFixed(1)}), ` +
      `${new Date().toISOString()}: ${TOKENS} tokens, best of ${ROUNDS} interleaved ${SECONDS}s rounds\n`,
  );
  console.log('| alg | scenario | in flight | path | verifications/s | ratio to raw jose |');
  console.log('| --- | --- | ---: | --- | ---: | ---: |');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
