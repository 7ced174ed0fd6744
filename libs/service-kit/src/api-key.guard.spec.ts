import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyGuard, Public } from './api-key.guard';
import { ProblemDetailsFilter } from './problem-details.filter';
import { SERVICE_RUNTIME } from './service-runtime';

const KEY = 'k3y-of-at-least-thirty-two-characters-long';

@Controller('things')
class ThingsController {
  @Get()
  list(): string[] {
    return ['a'];
  }

  @Public()
  @Get('public')
  open(): string {
    return 'ok';
  }
}

@Module({
  controllers: [ThingsController],
  providers: [
    { provide: SERVICE_RUNTIME, useValue: { config: { TRACEO_API_KEYS: `console:${KEY},ci:another-key-of-thirty-two-characters!!` } } },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
class TestModule {}

describe('API key guard (deny by default)', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [TestModule] }).compile()).createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });

  afterAll(() => app.close());

  const get = (path: string, authorization?: string) => fetch(base + path, authorization ? { headers: { authorization } } : {});

  it('refuses a request without credentials with 401 AUTH.UNAUTHENTICATED', async () => {
    const response = await get('/things');
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('AUTH.UNAUTHENTICATED');
  });

  it.each([`Bearer ${KEY}x`, `Bearer ${KEY.slice(1)}`, `Basic ${KEY}`, 'Bearer ', KEY])('refuses %j', async (authorization) => {
    expect((await get('/things', authorization)).status).toBe(401);
  });

  it('accepts any configured key', async () => {
    expect((await get('/things', `Bearer ${KEY}`)).status).toBe(200);
    expect((await get('/things', 'Bearer another-key-of-thirty-two-characters!!')).status).toBe(200);
  });

  it('leaves routes marked @Public() open', async () => {
    expect((await get('/things/public')).status).toBe(200);
  });
});
