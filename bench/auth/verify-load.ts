// Shared by bench/auth (the service's own tokens) and bench/auth/jwt-verify (test tokens): the
// guard's request context and the timed verification loop.
import type { ExecutionContext } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { RequirePermissions } from '@traceo/security';

class BenchController {
  @RequirePermissions('crypto:decrypt')
  decrypt(): void {}
}

/** An HTTP request to a `crypto:decrypt` route of `tenantId`, as AuthGuard.canActivate sees it. */
export function contextFor(authorization: string, tenantId: string): ExecutionContext {
  const request = { headers: { authorization }, params: { tenantId } };
  const response = { setHeader: () => undefined };
  return {
    getType: () => 'http',
    // eslint-disable-next-line @typescript-eslint/unbound-method -- Reflector reads the metadata on the method itself
    getHandler: () => BenchController.prototype.decrypt,
    getClass: () => BenchController,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
}

/** Runs `verify` over the tokens (round-robin) for `seconds` with `concurrency` calls in flight; returns verifications/s. */
export async function verificationsPerSecond(
  tokens: readonly string[],
  concurrency: number,
  seconds: number,
  verify: (token: string) => Promise<unknown>,
): Promise<number> {
  let done = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      await verify(tokens[next++ % tokens.length]!);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - started) / 1000);
}
